"""Route53 writes: a hostname's alias record with its owner TXT record (one UPSERT batch writes both, one DELETE
batch removes both), and the platform's hosted zones (adopted; created only in the sandbox, never deleted)."""

from typing import Any

from botocore.exceptions import ClientError

from ...aws.context import AwsContext, not_bootstrapped, tag_list
from ...aws.errors import is_code
from ...aws.kinds import HOSTED_ZONE, RECORD
from ...errors import PermanentError
from ...names import OWNER_PLATFORM, TAG_OWNER, TAG_SERVICE, platform_tags, record_owner_name
from ...observed.aws.route53 import alias_of, host_rrsets, hosted_zone, owner_value, parse_owner, values, zone_id_of
from ...resources import Resource

OWNER_TTL = 300


def change(ctx: AwsContext, zone_id: str, changes: list[dict[str, Any]], comment: str) -> None:
    ctx.client("route53").change_resource_record_sets(
        HostedZoneId=zone_id, ChangeBatch={"Comment": comment, "Changes": changes}
    )


def txt_record(name: str, value: str) -> dict[str, Any]:
    return {"Name": name, "Type": "TXT", "TTL": OWNER_TTL, "ResourceRecords": [{"Value": value}]}


class RecordWriter:
    kind = RECORD

    def apply(self, ctx: AwsContext, resource: Resource) -> dict[str, Any]:
        zone_id, host, body = resource.namespace, resource.name, resource.body
        alias, tags = body["alias"], body["tags"]
        if not zone_id:
            raise not_bootstrapped(resource.label(), "hosted zone id")
        if not alias["dns_name"] or not alias["hosted_zone_id"]:
            raise not_bootstrapped(resource.label(), "load balancer")
        current, owner_rrset = host_rrsets(ctx, zone_id, host)
        owner = parse_owner(owner_rrset)
        if owner.get(TAG_OWNER) == OWNER_PLATFORM:
            raise PermanentError(
                f"{resource.label()}: {host} is a host the platform itself serves; choose another hostname",
                code="RecordOwnedByPlatform",
            )
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
        current, owner_rrset = host_rrsets(ctx, zone_id, host)
        owner = parse_owner(owner_rrset)
        service = ctx.service or resource.body.get("tags", {}).get(TAG_SERVICE, "")
        if owner and owner.get(TAG_SERVICE) != service:
            return  # another service owns the name now: nothing of ours is left to remove
        ours = current if alias_of(current) else None  # a plain A record was never the portal's
        changes = [{"Action": "DELETE", "ResourceRecordSet": rrset} for rrset in (ours, owner_rrset) if rrset]
        if changes:
            change(ctx, zone_id, changes, f"portal: {service} released {host}")


class HostedZoneWriter:
    kind = HOSTED_ZONE

    def apply(self, ctx: AwsContext, resource: Resource) -> dict[str, Any]:
        """Adopt the zone of that name; in the sandbox create it, as real AWS would already have it."""
        name = resource.name
        zone = hosted_zone(ctx, name)
        if zone is None:
            zone = self.create(ctx, name)
        if (zone.get("Config") or {}).get("PrivateZone"):
            raise PermanentError(
                f"{resource.label()}: the zone {name} is private; ACM validates certificates through public DNS, so "
                "the platform needs a public zone of that name",
                code="HostedZoneNotPublic",
            )
        return {"external_id": zone_id_of(zone), "outputs": {"zone_id": zone_id_of(zone)}}

    def create(self, ctx: AwsContext, name: str) -> dict[str, Any]:
        if not ctx.sandbox:
            raise PermanentError(
                f"no Route53 hosted zone for {name}: create it and delegate it (the platform creates zones only in "
                "the sandbox)",
                code="HostedZoneNotFound",
            )
        route53 = ctx.client("route53")
        try:
            created = route53.create_hosted_zone(
                Name=name,
                CallerReference=f"portal-{ctx.platform.cluster_name}-{name}",
                HostedZoneConfig={"Comment": "platform portal", "PrivateZone": False},
            )["HostedZone"]
        except ClientError as exc:
            # Another worker created it a moment ago (same caller reference): it is listed now.
            found = hosted_zone(ctx, name) if is_code(exc, "HostedZoneAlreadyExists") else None
            if found is None:
                raise
            return found
        route53.change_tags_for_resource(
            ResourceType="hostedzone", ResourceId=zone_id_of(created), AddTags=tag_list(platform_tags(name))
        )
        return created

    def delete(self, ctx: AwsContext, resource: Resource) -> None:
        """A zone the platform stops using stays: it holds records of other owners, and its delegation."""
