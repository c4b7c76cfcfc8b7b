"""ACM: a DNS-validated certificate per hostname, attached to the level's HTTPS listener.

Idempotent by construction: look up by domain and tags first; request with an IdempotencyToken derived from
the resource's key and content, so two workers (or a retry after a kill, before anything was recorded) get
the one certificate back. Tokens last an hour and then name a deleted certificate for a while: a request
answered with one that no longer exists is repeated with a token salted by that ARN.
"""

import hashlib
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from django.conf import settings

from ..desired.aws import CERTIFICATE, aws
from ..errors import PermanentError
from ..names import MANAGED_TAG_VALUE, TAG_MANAGED, TAG_SERVICE
from ..resources import Resource
from .context import AwsContext, has_tags, not_bootstrapped, tag_dict, tag_list, wait_for
from .errors import is_code
from .route53 import change, get_rrset, norm, values

if TYPE_CHECKING:
    from .observation import Observation

USABLE = ("ISSUED", "PENDING_VALIDATION")
VALIDATION_TTL = 300


def idempotency_token(seed: str) -> str:
    """ACM accepts up to 32 word characters."""
    return hashlib.sha256(seed.encode()).hexdigest()[:32]


def listener_certificates(ctx: AwsContext, listener_arn: str) -> set[str]:
    """The SNI certificates of a listener (its default certificate is not among them)."""
    elbv2 = ctx.client("elbv2")
    found: set[str] = set()
    kwargs: dict[str, Any] = {"ListenerArn": listener_arn}
    while True:
        page = elbv2.describe_listener_certificates(**kwargs)
        found |= {c["CertificateArn"] for c in page.get("Certificates", []) if not c.get("IsDefault")}
        if not page.get("NextMarker"):
            return found
        kwargs["Marker"] = page["NextMarker"]


def describe(ctx: AwsContext, arn: str) -> dict[str, Any] | None:
    try:
        return ctx.client("acm").describe_certificate(CertificateArn=arn)["Certificate"]
    except ClientError as exc:
        if is_code(exc, "ResourceNotFoundException"):
            return None
        raise


def find_certificates(ctx: AwsContext, domains: set[str], identity: dict[str, str]) -> list[dict[str, Any]]:
    """Certificates for these domains that carry the identity tags: usable ones first, newest first."""
    acm = ctx.client("acm")
    found = []
    for page in acm.get_paginator("list_certificates").paginate():
        for summary in page.get("CertificateSummaryList", []):
            if summary.get("DomainName") not in domains:
                continue
            arn = summary["CertificateArn"]
            tags = tag_dict(acm.list_tags_for_certificate(CertificateArn=arn).get("Tags"))
            cert = describe(ctx, arn) if has_tags(tags, identity) else None
            if cert is not None:
                found.append({**cert, "Tags": tags})
    return sorted(found, key=rank)


def rank(cert: dict[str, Any]) -> tuple:
    """Sort key: issued, then usable, then newest."""
    status, created = cert.get("Status"), cert.get("CreatedAt")
    return (status != "ISSUED", status not in USABLE, -(created.timestamp() if created else 0))


def validation_record(cert: dict[str, Any] | None) -> dict[str, str] | None:
    for option in (cert or {}).get("DomainValidationOptions", []):
        if option.get("DomainName") == cert["DomainName"] and option.get("ResourceRecord"):
            return option["ResourceRecord"]
    return None


def validation_in_zone(records: dict, record: dict[str, str] | None) -> bool:
    """Whether a zone (as listed) holds the certificate's validation CNAME."""
    if record is None:
        return False
    rrset = records.get((norm(record["Name"]), record["Type"]))
    return [norm(v) for v in values(rrset)] == [norm(record["Value"])]


def request(ctx: AwsContext, domain: str, tags: dict[str, str], seed: str) -> str:
    return requested(ctx, domain, tags, seed)["CertificateArn"]


def requested(ctx: AwsContext, domain: str, tags: dict[str, str], seed: str) -> dict[str, Any]:
    """The certificate a request answers with, as described right after (its validation record may be in it)."""
    acm = ctx.client("acm")
    for attempt in range(3):
        arn = acm.request_certificate(
            DomainName=domain, ValidationMethod="DNS", IdempotencyToken=idempotency_token(seed), Tags=tag_list(tags)
        )["CertificateArn"]
        cert = describe(ctx, arn)
        if cert is not None:
            return cert
        seed = f"{seed}|{arn}|{attempt}"
    raise PermanentError(f"ACM keeps answering {domain} with deleted certificates", code="CertificateNotFound")


def retire(ctx: AwsContext, cert: dict[str, Any]) -> None:
    """Detach a certificate from the platform's listeners, then delete it (waiting for ELB to let go)."""
    arn = cert["CertificateArn"]
    elbv2, acm = ctx.client("elbv2"), ctx.client("acm")
    for listener in ctx.listeners().values():
        if arn in listener_certificates(ctx, listener):
            elbv2.remove_listener_certificates(ListenerArn=listener, Certificates=[{"CertificateArn": arn}])

    def deleted() -> bool | None:
        try:
            acm.delete_certificate(CertificateArn=arn)
        except ClientError as exc:
            if is_code(exc, "ResourceInUseException"):
                return None
            if not is_code(exc, "ResourceNotFoundException"):
                raise
        return True

    wait_for(deleted, settings.PORTAL_AWS_WAIT_SECONDS, f"certificate {arn} is still in use", "ResourceInUseException")


def ensure_certificate(
    ctx: AwsContext,
    domain: str,
    zone_id: str,
    tags: dict[str, str],
    identity: dict[str, str],
    seed: str,
    wait_seconds: float,
) -> dict[str, Any]:
    """An issued certificate for ``domain``: found by its tags or requested, validated through ``zone_id``."""
    acm = ctx.client("acm")
    certs = find_certificates(ctx, {domain}, identity)
    usable = [c for c in certs if c["Status"] in USABLE]
    for stale in (c for c in certs if c["Status"] not in USABLE):
        retire(ctx, stale)  # failed, expired or revoked: a new one replaces it
    fresh: dict[str, Any] | None = None
    if usable:
        arn = usable[0]["CertificateArn"]
        if not has_tags(usable[0]["Tags"], tags):
            acm.add_tags_to_certificate(CertificateArn=arn, Tags=tag_list(tags))
    else:
        fresh = requested(ctx, domain, tags, seed + "".join(c["CertificateArn"] for c in certs))
        arn = fresh["CertificateArn"]
    record = validation_record(fresh) or wait_for(
        lambda: validation_record(describe(ctx, arn)),
        wait_seconds,
        f"ACM has not published the validation record of {domain} yet",
        "ValidationRecordPending",
    )
    # A certificate just requested has its record written without reading first (an UPSERT is idempotent).
    current = None if fresh else get_rrset(ctx, zone_id, record["Name"], record["Type"])
    if [norm(v) for v in values(current)] != [norm(record["Value"])]:
        rrset = {
            "Name": record["Name"],
            "Type": record["Type"],
            "TTL": VALIDATION_TTL,
            "ResourceRecords": [{"Value": record["Value"]}],
        }
        change(ctx, zone_id, [{"Action": "UPSERT", "ResourceRecordSet": rrset}], f"portal: validate {domain}")

    def issued() -> dict[str, Any] | None:
        cert = describe(ctx, arn) or {}
        if cert.get("Status") == "ISSUED":
            return cert
        if cert.get("Status") not in USABLE:
            raise PermanentError(
                f"ACM did not issue the certificate for {domain}: {cert.get('Status')} {cert.get('FailureReason', '')}",
                code="CertificateNotIssued",
            )
        return None

    cert = wait_for(issued, wait_seconds, f"the certificate for {domain} awaits DNS validation", "PendingValidation")
    return {**cert, "Requested": fresh is not None}


def service_identity(service: str) -> dict[str, str]:
    return {TAG_MANAGED: MANAGED_TAG_VALUE, TAG_SERVICE: service}


class CertificateHandler:
    kind = CERTIFICATE

    def observe(self, obs: "Observation", desired: list[Resource], recorded: list[Resource]) -> list[Resource]:
        """Certificates tagged for the service (one GetResources), and by listing for any it should have."""
        ctx = obs.ctx
        wanted = {r.name: r for r in (*recorded, *desired)}
        certs: dict[str, list[dict[str, Any]]] = {}
        for arn, tags in obs.tagged_arns("acm").items():
            cert = describe(ctx, arn)
            if cert is not None:
                certs.setdefault(cert["DomainName"], []).append({**cert, "Tags": tags})
        missing = set(wanted) - set(certs)
        if missing and ctx.service:
            for cert in find_certificates(ctx, missing, service_identity(ctx.service)):
                certs.setdefault(cert["DomainName"], []).append(cert)
        found = []
        for domain, candidates in sorted(certs.items()):
            cert = sorted(candidates, key=rank)[0]
            declared = wanted.get(domain)
            level = declared.namespace if declared else ctx.level_of(domain)
            found.append(aws(CERTIFICATE, domain, self.observed_body(obs, cert, declared), namespace=level))
        return found

    def observed_body(self, obs: "Observation", cert: dict[str, Any], declared: Resource | None) -> dict[str, Any]:
        ctx = obs.ctx
        body = declared.body if declared else {}
        record = validation_record(cert)
        zones = [z for z in (body.get("validation_zone_id"), *ctx.zone_ids().values()) if z]
        listeners = [arn for arn in (body.get("listener_arn"), *ctx.listeners().values()) if arn]
        options = cert.get("DomainValidationOptions") or [{}]
        attached = [a for a in listeners if cert["CertificateArn"] in obs.listener_certificates(a)]
        return {
            "domain_name": cert["DomainName"],
            "validation_method": options[0].get("ValidationMethod"),
            "validation_zone_id": next((z for z in zones if validation_in_zone(obs.zone(z), record)), None),
            "listener_arn": attached[0] if attached else None,
            "status": cert.get("Status"),
            "tags": cert["Tags"],
        }

    def apply(self, ctx: AwsContext, resource: Resource) -> dict[str, Any]:
        body = resource.body
        zone_id, listener = body["validation_zone_id"], body["listener_arn"]
        if not zone_id:
            raise not_bootstrapped(resource.label(), "hosted zone id")
        if not listener:
            raise not_bootstrapped(resource.label(), "HTTPS listener")
        cert = ensure_certificate(
            ctx,
            body["domain_name"],
            zone_id,
            body["tags"],
            service_identity(body["tags"][TAG_SERVICE]),
            seed=f"{resource.key}|{resource.digest}",
            wait_seconds=settings.PORTAL_AWS_WAIT_SECONDS,
        )
        arn = cert["CertificateArn"]
        elbv2 = ctx.client("elbv2")
        if cert["Requested"]:
            # Requested by this step (or, by the idempotency token, by a twin of it for the same body, hence the
            # same listener): attached nowhere else. Adding a certificate a listener has already is a no-op.
            elbv2.add_listener_certificates(ListenerArn=listener, Certificates=[{"CertificateArn": arn}])
            return {"external_id": arn}
        for other in ctx.listeners().values():
            if other != listener and arn in listener_certificates(ctx, other):
                elbv2.remove_listener_certificates(ListenerArn=other, Certificates=[{"CertificateArn": arn}])
        if arn not in listener_certificates(ctx, listener):
            elbv2.add_listener_certificates(ListenerArn=listener, Certificates=[{"CertificateArn": arn}])
        return {"external_id": arn}

    def delete(self, ctx: AwsContext, resource: Resource) -> None:
        """Detach and delete the service's certificates for the name, then the validation record nobody needs."""
        domain = resource.name
        service = ctx.service or resource.body.get("tags", {}).get(TAG_SERVICE, "")
        certs = find_certificates(ctx, {domain}, service_identity(service))
        records = [r for r in (validation_record(c) for c in certs) if r]
        for cert in certs:
            retire(ctx, cert)
        if find_certificates(ctx, {domain}, {TAG_MANAGED: MANAGED_TAG_VALUE}):
            return  # another portal certificate (the name moved to another service) still validates through it
        level = ctx.level_of(domain)
        zone_id = resource.body.get("validation_zone_id") or (ctx.platform.zone_id(level) if level else "")
        for record in {(r["Name"], r["Type"]): r for r in records}.values():
            current = get_rrset(ctx, zone_id, record["Name"], record["Type"]) if zone_id else None
            if current is not None:
                change(ctx, zone_id, [{"Action": "DELETE", "ResourceRecordSet": current}], f"portal: {domain} gone")
