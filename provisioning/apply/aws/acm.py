"""ACM writes: a DNS-validated certificate per hostname attached to the level's HTTPS listener, and the default
certificate of each platform listener.

Idempotent by construction: look up by domain and tags first; request with an IdempotencyToken derived from
the resource's key and content, so two workers (or a retry after a kill, before anything was recorded) get
the one certificate back. Tokens last an hour and then name a deleted certificate for a while: a request
answered with one that no longer exists is repeated with a token salted by that ARN.
"""

import hashlib
from typing import Any

from botocore.exceptions import ClientError

from ...aws.context import AwsContext, has_tags, not_bootstrapped, tag_list, wait_for
from ...aws.errors import is_code
from ...aws.kinds import CERTIFICATE
from ...errors import PermanentError
from ...names import MANAGED_TAG_VALUE, TAG_MANAGED, TAG_SERVICE
from ...observed.aws.acm import (
    USABLE,
    describe,
    find_certificates,
    list_listener_certificates,
    service_identity,
    validation_record,
)
from ...observed.aws.route53 import get_rrset, norm, values
from ...resources import Resource
from .route53 import change

VALIDATION_TTL = 300


def idempotency_token(seed: str) -> str:
    """ACM accepts up to 32 word characters."""
    return hashlib.sha256(seed.encode()).hexdigest()[:32]


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
        if arn in list_listener_certificates(ctx, listener):
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

    wait_for(deleted, ctx.wait_seconds, f"certificate {arn} is still in use", "ResourceInUseException")


def ensure_certificate(
    ctx: AwsContext, domain: str, zone_id: str, tags: dict[str, str], identity: dict[str, str], seed: str
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
        ctx.wait_seconds,
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

    cert = wait_for(
        issued, ctx.wait_seconds, f"the certificate for {domain} awaits DNS validation", "PendingValidation"
    )
    return {**cert, "Requested": fresh is not None}


class CertificateWriter:
    kind = CERTIFICATE

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
        )
        arn = cert["CertificateArn"]
        elbv2 = ctx.client("elbv2")
        if cert["Requested"]:
            # Requested by this step (or, by the idempotency token, by a twin of it for the same body, hence the
            # same listener): attached nowhere else. Adding a certificate a listener has already is a no-op.
            elbv2.add_listener_certificates(ListenerArn=listener, Certificates=[{"CertificateArn": arn}])
            return {"external_id": arn}
        for other in ctx.listeners().values():
            if other != listener and arn in list_listener_certificates(ctx, other):
                elbv2.remove_listener_certificates(ListenerArn=other, Certificates=[{"CertificateArn": arn}])
        if arn not in list_listener_certificates(ctx, listener):
            elbv2.add_listener_certificates(ListenerArn=listener, Certificates=[{"CertificateArn": arn}])
        return {"external_id": arn}

    def delete(self, ctx: AwsContext, resource: Resource) -> None:
        """Detach and delete the service's certificates for the name, then the validation record nobody needs."""
        domain = resource.name
        service = ctx.service or resource.body.get("tags", {}).get(TAG_SERVICE, "")
        level = ctx.level_of(domain)
        zone_id = resource.body.get("validation_zone_id") or (ctx.platform.zone_id(level) if level else "")
        forget_certificates(ctx, domain, service_identity(service), zone_id)


def forget_certificates(ctx: AwsContext, domain: str, identity: dict[str, str], zone_id: str) -> None:
    """Detach and delete the certificates for ``domain`` carrying ``identity``, then their validation record in
    ``zone_id`` unless another of the portal's certificates for the name still validates through it."""
    certs = find_certificates(ctx, {domain}, identity)
    records = [r for r in (validation_record(c) for c in certs) if r]
    for cert in certs:
        retire(ctx, cert)
    if find_certificates(ctx, {domain}, {TAG_MANAGED: MANAGED_TAG_VALUE}):
        return  # another portal certificate (the name moved to another owner) still validates through it
    for record in {(r["Name"], r["Type"]): r for r in records}.values():
        current = get_rrset(ctx, zone_id, record["Name"], record["Type"]) if zone_id else None
        if current is not None:
            change(ctx, zone_id, [{"Action": "DELETE", "ResourceRecordSet": current}], f"portal: {domain} gone")
