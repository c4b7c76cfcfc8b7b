"""Writes for the platform's own hosts (``names.platform_hosts``): each host's certificate on its level's HTTPS
listener, its alias record at the level's ALB (with the owner TXT record beside it), and the NS record delegating
the internal zone from the external one. Names in the bodies (zones, load balancers, listeners by port) are
resolved to ids and ARNs here."""

from typing import Any

from ...aws.context import AwsContext
from ...aws.kinds import PLATFORM_CERTIFICATE, PLATFORM_RECORD, ZONE_DELEGATION
from ...errors import PermanentError
from ...names import OWNER_PLATFORM, TAG_OWNER, TAG_SERVICE, record_owner_name
from ...observed.aws.acm import list_listener_certificates
from ...observed.aws.elbv2 import find_load_balancer
from ...observed.aws.hosts import find_listener, name_servers
from ...observed.aws.route53 import (
    alias_of,
    get_rrset,
    host_rrsets,
    hosted_zone,
    norm,
    owner_value,
    parse_owner,
    values,
    zone_id_of,
)
from ...resources import Resource
from .acm import ensure_certificate, forget_certificates
from .route53 import change, txt_record


def require_zone(ctx: AwsContext, name: str, what: str) -> str:
    zone = hosted_zone(ctx, name)
    if zone is None:
        raise PermanentError(
            f"{what}: no hosted zone {name}; apply the platform's zones first", code="HostedZoneNotFound"
        )
    return zone_id_of(zone)


def require_load_balancer(ctx: AwsContext, name: str, what: str) -> dict[str, Any]:
    alb = find_load_balancer(ctx, name)
    if alb is None:
        raise PermanentError(
            f"{what}: its load balancer {name} does not exist yet; apply it first", code="LoadBalancerNotFound"
        )
    return alb


def is_platforms(owner: dict[str, str]) -> bool:
    return owner.get(TAG_OWNER) == OWNER_PLATFORM


class DelegationWriter:
    kind = ZONE_DELEGATION

    def apply(self, ctx: AwsContext, resource: Resource) -> dict[str, Any]:
        """The child zone's name servers as the NS record of its name in the parent zone (one UPSERT, when they
        differ)."""
        child, what = resource.name, resource.label()
        parent = require_zone(ctx, resource.namespace, what)
        require_zone(ctx, child, what)
        servers = name_servers(ctx, child)
        current = get_rrset(ctx, parent, child, "NS")
        ttl = resource.body["ttl"]
        if [norm(v) for v in values(current)] != servers or (current or {}).get("TTL") != ttl:
            rrset = {"Name": child, "Type": "NS", "TTL": ttl, "ResourceRecords": [{"Value": s} for s in servers]}
            change(ctx, parent, [{"Action": "UPSERT", "ResourceRecordSet": rrset}], f"portal: delegate {child}")
        return {
            "external_id": f"{parent}/{child}/NS",
            "outputs": {"zone_id": parent, "name_servers": " ".join(servers)},
        }

    def delete(self, ctx: AwsContext, resource: Resource) -> None:
        """Only the platform stops delegating: the child zone itself is never deleted."""
        zone = hosted_zone(ctx, resource.namespace)
        current = get_rrset(ctx, zone_id_of(zone), resource.name, "NS") if zone else None
        if current is not None:
            change(ctx, zone_id_of(zone), [{"Action": "DELETE", "ResourceRecordSet": current}], "portal: undelegate")


class PlatformCertificateWriter:
    kind = PLATFORM_CERTIFICATE

    def apply(self, ctx: AwsContext, resource: Resource) -> dict[str, Any]:
        """The host's certificate (found by the platform's tags or requested, validated in the level's zone) on the
        listener that serves the host, and on no other of the platform's."""
        body, what = resource.body, resource.label()
        zone_id = require_zone(ctx, body["validation_zone"], what)
        declared = body["listener"]
        require_load_balancer(ctx, declared["load_balancer"], what)
        listener = find_listener(ctx, declared["load_balancer"], declared["port"])
        if listener is None:
            raise PermanentError(
                f"{what}: {declared['load_balancer']} has no listener on {declared['port']} yet; apply it first",
                code="ListenerNotFound",
            )
        listener_arn = listener["ListenerArn"]
        cert = ensure_certificate(
            ctx, body["domain_name"], zone_id, body["tags"], body["tags"], seed=f"{resource.key}|{resource.digest}"
        )
        arn = cert["CertificateArn"]
        elbv2 = ctx.client("elbv2")
        for other in ctx.listeners().values():
            if other != listener_arn and arn in list_listener_certificates(ctx, other):
                elbv2.remove_listener_certificates(ListenerArn=other, Certificates=[{"CertificateArn": arn}])
        if cert["Requested"] or arn not in list_listener_certificates(ctx, listener_arn):
            elbv2.add_listener_certificates(ListenerArn=listener_arn, Certificates=[{"CertificateArn": arn}])
        return {"external_id": arn, "outputs": {"arn": arn, "listener_arn": listener_arn}}

    def delete(self, ctx: AwsContext, resource: Resource) -> None:
        zone = hosted_zone(ctx, resource.body.get("validation_zone", ""))
        tags = resource.body.get("tags") or {}
        forget_certificates(ctx, resource.name, tags, zone_id_of(zone) if zone else "")


class PlatformRecordWriter:
    kind = PLATFORM_RECORD

    def apply(self, ctx: AwsContext, resource: Resource) -> dict[str, Any]:
        """The host's alias record at the level's ALB and its owner TXT record (one UPSERT batch, when either
        differs). A name a service owns, or a record the portal did not make, is left alone and the step fails."""
        body, host, what = resource.body, resource.name, resource.label()
        zone_id = require_zone(ctx, body["zone"], what)
        alb = require_load_balancer(ctx, body["load_balancer"], what)
        current, owner_rrset = host_rrsets(ctx, zone_id, host)
        owner = parse_owner(owner_rrset)
        if owner.get(TAG_SERVICE):
            raise PermanentError(
                f"{what}: {host} belongs to service {owner[TAG_SERVICE]}; it must release the name first",
                code="RecordOwnedByAnotherService",
            )
        if (
            current is not None
            and not is_platforms(owner)
            and alias_of(current).get("dns_name") not in ctx.alb_dns_names()
        ):
            raise PermanentError(
                f"{what}: {host} already has an A record the portal did not create; remove it",
                code="RecordNotManaged",
            )
        alias = {
            "dns_name": alb["DNSName"].lower(),
            "hosted_zone_id": alb["CanonicalHostedZoneId"],
            "evaluate_target_health": True,
        }
        changes = []
        if alias_of(current) != alias:
            target = {
                "HostedZoneId": alias["hosted_zone_id"],
                "DNSName": alias["dns_name"],
                "EvaluateTargetHealth": True,
            }
            changes.append(
                {"Action": "UPSERT", "ResourceRecordSet": {"Name": host, "Type": "A", "AliasTarget": target}}
            )
        wanted = owner_value(body["tags"])
        if values(owner_rrset) != [wanted]:
            changes.append({"Action": "UPSERT", "ResourceRecordSet": txt_record(record_owner_name(host), wanted)})
        if changes:
            change(ctx, zone_id, changes, f"portal: platform host {host}")
        return {
            "external_id": f"{zone_id}/{host}/A",
            "outputs": {"zone_id": zone_id, "alias_dns_name": alias["dns_name"]},
        }

    def delete(self, ctx: AwsContext, resource: Resource) -> None:
        """The record and its owner TXT record, when the platform owns them."""
        zone = hosted_zone(ctx, resource.body.get("zone", ""))
        if zone is None:
            return
        zone_id, host = zone_id_of(zone), resource.name
        current, owner_rrset = host_rrsets(ctx, zone_id, host)
        if not is_platforms(parse_owner(owner_rrset)):
            return
        ours = current if alias_of(current) else None
        changes = [{"Action": "DELETE", "ResourceRecordSet": rrset} for rrset in (ours, owner_rrset) if rrset]
        change(ctx, zone_id, changes, f"portal: platform released {host}")
