"""Route53 as the portal sees it: the platform's hosted zones, and each hostname's alias record with the TXT
record beside it that names its owner.

Records have no tags, so ownership lives in ``_portal-owner.<hostname>`` (``"portal:managed=true,..."``), the
way external-dns keeps its registry: orphans are found by it, and a name another service or a person owns is
never overwritten.
"""

from typing import Any

from botocore.exceptions import ClientError

from ...aws.context import AwsContext
from ...aws.errors import is_code
from ...aws.kinds import HOSTED_ZONE, RECORD
from ...names import TAG_SERVICE, record_owner_name
from ...resources import Resource, aws
from .observation import Observation


def norm(name: str) -> str:
    """Route53 spells names with a trailing dot and octal escapes; the portal without either."""
    return name.rstrip(".").lower().replace("\\052", "*")


def zone_id_of(zone: dict[str, Any]) -> str:
    return zone["Id"].rsplit("/", 1)[-1]


# A zone the inventory names that is gone (deleted by hand, or a sandbox started again empty).
NO_ZONE = "NoSuchHostedZone"


def list_zone(ctx: AwsContext, zone_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Every record set of a zone by (name, type): one paginated ListResourceRecordSets. A zone that is gone has
    none: its records are missing (drift to repair in the zone the platform has now), not an error."""
    paginator = ctx.client("route53").get_paginator("list_resource_record_sets")
    found: dict[tuple[str, str], dict[str, Any]] = {}
    try:
        for page in paginator.paginate(HostedZoneId=zone_id):
            for rrset in page.get("ResourceRecordSets", []):
                if "SetIdentifier" not in rrset:
                    found[(norm(rrset["Name"]), rrset["Type"])] = rrset
    except ClientError as exc:
        if not is_code(exc, NO_ZONE):
            raise
        return {}
    return found


def zone_records(obs: Observation, zone_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    """A zone's record sets, listed once per observe (once per batch in a drift sweep)."""
    return obs.once(("route53.zone", zone_id), list_zone, obs.ctx, zone_id)


def get_rrset(ctx: AwsContext, zone_id: str, name: str, rtype: str) -> dict[str, Any] | None:
    """One record set, read fresh (records sort by name then type, so the first one at the start is it); None in
    a zone that is gone."""
    try:
        page = ctx.client("route53").list_resource_record_sets(
            HostedZoneId=zone_id, StartRecordName=name, StartRecordType=rtype, MaxItems="1"
        )
    except ClientError as exc:
        if not is_code(exc, NO_ZONE):
            raise
        return None
    for rrset in page.get("ResourceRecordSets", []):
        if norm(rrset["Name"]) == norm(name) and rrset["Type"] == rtype and "SetIdentifier" not in rrset:
            return rrset
    return None


# A host's page: its own record sets and those of its subdomains that sort before its owner TXT record (a
# certificate's validation CNAME, ``_<hash>.<host>``).
HOST_PAGE = "20"


def route53_order(name: str, rtype: str, trailing_dot: bool) -> tuple[str, str]:
    """Where Route53 lists a record set: by name with the labels reversed, then by type. AWS keeps the name's
    trailing dot in that key, the sandbox (moto) does not; the two differ only for names with characters that sort
    before the dot."""
    return ".".join(reversed(norm(name).split("."))) + ("." if trailing_dot else ""), rtype


def listed_after(rrset: dict[str, Any], name: str, rtype: str) -> bool:
    """Whether a listed record set comes after (name, type) the way AWS sorts and the way the sandbox does."""
    return all(
        route53_order(rrset["Name"], rrset["Type"], dot) > route53_order(name, rtype, dot) for dot in (True, False)
    )


def host_rrsets(ctx: AwsContext, zone_id: str, host: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A host's A record set and its owner TXT record set (None when absent; both None in a zone that is gone), read
    fresh with one ListResourceRecordSets from the host's A record: the owner's name is a subdomain of the host, so
    it is listed after it. The owner record is looked up on its own only when the page ends before it, or before a
    record set that sorts after it (which proves it absent)."""
    owner_name = record_owner_name(host)
    try:
        page = ctx.client("route53").list_resource_record_sets(
            HostedZoneId=zone_id, StartRecordName=host, StartRecordType="A", MaxItems=HOST_PAGE
        )
    except ClientError as exc:
        if not is_code(exc, NO_ZONE):
            raise
        return None, None
    listed = page.get("ResourceRecordSets", [])
    found = {(norm(r["Name"]), r["Type"]): r for r in listed if "SetIdentifier" not in r}
    record, owner = found.get((norm(host), "A")), found.get((norm(owner_name), "TXT"))
    passed = any(listed_after(rrset, owner_name, "TXT") for rrset in listed)
    if owner is None and page.get("IsTruncated") and not passed:
        owner = get_rrset(ctx, zone_id, owner_name, "TXT")
    return record, owner


def hosted_zone(ctx: AwsContext, name: str) -> dict[str, Any] | None:
    """The hosted zone of a domain, public first (a private one of the same name cannot validate certificates)."""
    page = ctx.client("route53").list_hosted_zones_by_name(DNSName=name, MaxItems="10")
    zones = [z for z in page.get("HostedZones", []) if norm(z["Name"]) == name]
    zones.sort(key=lambda z: bool((z.get("Config") or {}).get("PrivateZone")))
    return zones[0] if zones else None


def values(rrset: dict[str, Any] | None) -> list[str]:
    return sorted(r["Value"] for r in (rrset or {}).get("ResourceRecords", []))


def owner_value(tags: dict[str, str]) -> str:
    """The TXT value that names a record's owner (what ``parse_owner`` reads back)."""
    return '"' + ",".join(f"{k}={v}" for k, v in sorted(tags.items())) + '"'


def parse_owner(rrset: dict[str, Any] | None) -> dict[str, str]:
    tags: dict[str, str] = {}
    for value in values(rrset):
        for pair in value.strip('"').split(","):
            key, sep, val = pair.partition("=")
            if sep:
                tags[key] = val
    return tags


def alias_of(rrset: dict[str, Any] | None) -> dict[str, Any]:
    """An alias A record as the builder declares it; {} for anything else."""
    target = (rrset or {}).get("AliasTarget")
    if not target:
        return {}
    dns_name = norm(target["DNSName"]).removeprefix("dualstack.")
    return {
        "dns_name": dns_name,
        "hosted_zone_id": target["HostedZoneId"],
        "evaluate_target_health": bool(target.get("EvaluateTargetHealth")),
    }


class RecordReader:
    kind = RECORD

    def observe(self, obs: Observation, desired: list[Resource], recorded: list[Resource]) -> list[Resource]:
        """Alias records the service declares, has recorded, or owns by its TXT record in the platform's zones.

        Records carry no tags: the zones are listed whole for a service that has anything recorded or a certificate
        tagged for it (every host's certificate is written before its record, and removed after it). A service
        with neither can own no record: its hosts are looked up one by one (``host_rrsets``), each with one read.
        """
        if not recorded and not obs.tagged_arns("acm"):
            return self.at_hosts(obs, desired)
        ctx = obs.ctx
        zones = {r.namespace for r in (*desired, *recorded) if r.namespace}
        if desired or recorded or obs.tagged_arns("acm"):
            zones |= set(ctx.zone_ids().values())
        keys = {r.key for r in (*desired, *recorded)}
        found = []
        for zone_id in sorted(zones):
            records = zone_records(obs, zone_id)
            for (name, rtype), rrset in sorted(records.items()):
                alias = alias_of(rrset)
                if rtype != "A" or not alias:
                    continue
                tags = parse_owner(records.get((record_owner_name(name), "TXT")))
                resource = aws(RECORD, name, {"type": "A", "alias": alias, "tags": tags}, namespace=zone_id)
                if resource.key in keys or (ctx.service and tags.get(TAG_SERVICE) == ctx.service):
                    found.append(resource)
        return found

    def at_hosts(self, obs: Observation, desired: list[Resource]) -> list[Resource]:
        """The alias records at the declared hosts (whoever owns them), each host read once."""
        found = []
        for resource in desired:
            if not resource.namespace:
                continue
            key = ("route53.host", resource.namespace, resource.name)
            record, owner = obs.once(key, host_rrsets, obs.ctx, resource.namespace, resource.name)
            alias = alias_of(record)
            if not alias:
                continue
            body = {"type": "A", "alias": alias, "tags": parse_owner(owner)}
            found.append(aws(RECORD, resource.name, body, namespace=resource.namespace))
        return found


class HostedZoneReader:
    kind = HOSTED_ZONE

    def observe(self, obs: Observation, desired: list[Resource], recorded: list[Resource]) -> list[Resource]:
        """The platform's zones by name (the level is the resource's namespace)."""
        found = []
        for resource in {r.key: r for r in (*recorded, *desired)}.values():
            zone = obs.once(("route53.hosted_zone", resource.name), hosted_zone, obs.ctx, resource.name)
            if zone is None:
                continue
            private = bool((zone.get("Config") or {}).get("PrivateZone"))
            observed = aws(
                HOSTED_ZONE,
                resource.name,
                {"name": resource.name, "private_zone": private},
                namespace=resource.namespace,
            )
            obs.outputs[observed.key] = {"zone_id": zone_id_of(zone)}
            found.append(observed)
        return found
