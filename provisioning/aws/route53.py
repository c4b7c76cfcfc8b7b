"""Route53: the alias record of each hostname, and the TXT record beside it that names its owner.

Records have no tags, so ownership lives in ``_portal-owner.<hostname>`` (``"portal:managed=true,..."``), the
way external-dns keeps its registry: orphans are found by it, and a name another service or a person owns is
never overwritten. One UPSERT batch writes both, one DELETE batch removes both.
"""

from typing import TYPE_CHECKING, Any

from ..desired.aws import RECORD, aws
from ..errors import PermanentError
from ..names import TAG_SERVICE, record_owner_name
from ..resources import Resource
from .context import AwsContext, not_bootstrapped

if TYPE_CHECKING:
    from .observation import Observation

OWNER_TTL = 300


def norm(name: str) -> str:
    """Route53 spells names with a trailing dot and octal escapes; the portal without either."""
    return name.rstrip(".").lower().replace("\\052", "*")


def list_zone(ctx: AwsContext, zone_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Every record set of a zone by (name, type): one paginated ListResourceRecordSets."""
    paginator = ctx.client("route53").get_paginator("list_resource_record_sets")
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for page in paginator.paginate(HostedZoneId=zone_id):
        for rrset in page.get("ResourceRecordSets", []):
            if "SetIdentifier" not in rrset:
                found[(norm(rrset["Name"]), rrset["Type"])] = rrset
    return found


def get_rrset(ctx: AwsContext, zone_id: str, name: str, rtype: str) -> dict[str, Any] | None:
    """One record set, read fresh (records sort by name then type, so the first one at the start is it)."""
    page = ctx.client("route53").list_resource_record_sets(
        HostedZoneId=zone_id, StartRecordName=name, StartRecordType=rtype, MaxItems="1"
    )
    for rrset in page.get("ResourceRecordSets", []):
        if norm(rrset["Name"]) == norm(name) and rrset["Type"] == rtype and "SetIdentifier" not in rrset:
            return rrset
    return None


def change(ctx: AwsContext, zone_id: str, changes: list[dict[str, Any]], comment: str) -> None:
    ctx.client("route53").change_resource_record_sets(
        HostedZoneId=zone_id, ChangeBatch={"Comment": comment, "Changes": changes}
    )


def values(rrset: dict[str, Any] | None) -> list[str]:
    return sorted(r["Value"] for r in (rrset or {}).get("ResourceRecords", []))


def owner_value(tags: dict[str, str]) -> str:
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


def txt_record(name: str, value: str) -> dict[str, Any]:
    return {"Name": name, "Type": "TXT", "TTL": OWNER_TTL, "ResourceRecords": [{"Value": value}]}


class RecordHandler:
    kind = RECORD

    def observe(self, obs: "Observation", desired: list[Resource], recorded: list[Resource]) -> list[Resource]:
        """Alias records the service declares, has recorded, or owns by its TXT record in the platform's zones."""
        ctx = obs.ctx
        zones = {r.namespace for r in (*desired, *recorded) if r.namespace}
        if desired or recorded or obs.tagged_arns("acm"):
            zones |= set(ctx.zone_ids().values())
        keys = {r.key for r in (*desired, *recorded)}
        found = []
        for zone_id in sorted(zones):
            records = obs.zone(zone_id)
            for (name, rtype), rrset in sorted(records.items()):
                alias = alias_of(rrset)
                if rtype != "A" or not alias:
                    continue
                tags = parse_owner(records.get((record_owner_name(name), "TXT")))
                resource = aws(RECORD, name, {"type": "A", "alias": alias, "tags": tags}, namespace=zone_id)
                if resource.key in keys or (ctx.service and tags.get(TAG_SERVICE) == ctx.service):
                    found.append(resource)
        return found

    def apply(self, ctx: AwsContext, resource: Resource) -> dict[str, Any]:
        zone_id, host, body = resource.namespace, resource.name, resource.body
        alias, tags = body["alias"], body["tags"]
        if not zone_id:
            raise not_bootstrapped(resource.label(), "hosted zone id")
        if not alias["dns_name"] or not alias["hosted_zone_id"]:
            raise not_bootstrapped(resource.label(), "load balancer")
        current = get_rrset(ctx, zone_id, host, "A")
        owner_rrset = get_rrset(ctx, zone_id, record_owner_name(host), "TXT")
        owner = parse_owner(owner_rrset)
        if owner.get(TAG_SERVICE, tags[TAG_SERVICE]) != tags[TAG_SERVICE]:
            raise PermanentError(
                f"{resource.label()}: {host} belongs to service {owner[TAG_SERVICE]}; it must release the name first",
                code="RecordOwnedByAnotherService",
            )
        if current is not None and not owner and alias_of(current).get("dns_name") not in ctx.alb_dns_names():
            raise PermanentError(
                f"{resource.label()}: {host} already has an A record the portal did not create; remove it or "
                f"choose another hostname",
                code="RecordNotManaged",
            )
        changes = []
        if alias_of(current) != alias:
            target = {
                "HostedZoneId": alias["hosted_zone_id"],
                "DNSName": alias["dns_name"],
                "EvaluateTargetHealth": alias["evaluate_target_health"],
            }
            changes.append(
                {"Action": "UPSERT", "ResourceRecordSet": {"Name": host, "Type": "A", "AliasTarget": target}}
            )
        wanted = owner_value(tags)
        if values(owner_rrset) != [wanted]:
            changes.append({"Action": "UPSERT", "ResourceRecordSet": txt_record(record_owner_name(host), wanted)})
        if changes:
            change(ctx, zone_id, changes, f"portal: {tags[TAG_SERVICE]}")
        return {"external_id": f"{zone_id}/{host}/A"}

    def delete(self, ctx: AwsContext, resource: Resource) -> None:
        zone_id, host = resource.namespace, resource.name
        if not zone_id:
            return
        owner_rrset = get_rrset(ctx, zone_id, record_owner_name(host), "TXT")
        owner = parse_owner(owner_rrset)
        service = ctx.service or resource.body.get("tags", {}).get(TAG_SERVICE, "")
        if owner and owner.get(TAG_SERVICE) != service:
            return  # another service owns the name now: nothing of ours is left to remove
        current = get_rrset(ctx, zone_id, host, "A")
        ours = current if alias_of(current) else None  # a plain A record was never the portal's
        changes = [{"Action": "DELETE", "ResourceRecordSet": rrset} for rrset in (ours, owner_rrset) if rrset]
        if changes:
            change(ctx, zone_id, changes, f"portal: {service} released {host}")
