"""ACM as the portal sees it: a service's DNS-validated certificate per hostname and the listener it is on."""

from typing import Any

from botocore.exceptions import ClientError

from ...aws.context import AwsContext, has_tags, tag_dict
from ...aws.errors import is_code
from ...aws.kinds import CERTIFICATE
from ...names import MANAGED_TAG_VALUE, TAG_MANAGED, TAG_SERVICE
from ...resources import Resource, aws
from .observation import Observation
from .route53 import norm, values, zone_records

USABLE = ("ISSUED", "PENDING_VALIDATION")


def service_identity(service: str) -> dict[str, str]:
    """The tags that make a certificate the service's."""
    return {TAG_MANAGED: MANAGED_TAG_VALUE, TAG_SERVICE: service}


def list_listener_certificates(ctx: AwsContext, listener_arn: str) -> set[str]:
    """The SNI certificates of a listener (its default certificate is not among them); none on a listener that is
    gone (its ALB deleted, or a sandbox started again): the certificate is then attached to the listener the
    platform has now."""
    elbv2 = ctx.client("elbv2")
    found: set[str] = set()
    kwargs: dict[str, Any] = {"ListenerArn": listener_arn}
    while True:
        try:
            page = elbv2.describe_listener_certificates(**kwargs)
        except ClientError as exc:
            if is_code(exc, "ListenerNotFound", "LoadBalancerNotFound"):
                return found
            raise
        found |= {c["CertificateArn"] for c in page.get("Certificates", []) if not c.get("IsDefault")}
        if not page.get("NextMarker"):
            return found
        kwargs["Marker"] = page["NextMarker"]


def listener_certificates(obs: Observation, listener_arn: str) -> set[str]:
    """A listener's SNI certificates, listed once per observe (once per batch in a drift sweep)."""
    return obs.once(("acm.listener", listener_arn), list_listener_certificates, obs.ctx, listener_arn)


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


class CertificateReader:
    kind = CERTIFICATE

    def observe(self, obs: Observation, desired: list[Resource], recorded: list[Resource]) -> list[Resource]:
        """Certificates tagged for the service (one GetResources), and by listing for recorded ones it did not show.

        A certificate has the service's tags from its request on, so GetResources shows every one the service has.
        Only a recorded certificate it leaves out is looked for by listing (the tagging API lags a moment behind a
        write): one the service merely declares and GetResources does not show does not exist yet, and the apply
        looks it up before requesting it anyway (``apply.aws.acm.ensure_certificate``).
        """
        ctx = obs.ctx
        wanted = {r.name: r for r in (*recorded, *desired)}
        certs: dict[str, list[dict[str, Any]]] = {}
        for arn, tags in obs.tagged_arns("acm").items():
            cert = describe(ctx, arn)
            if cert is not None:
                certs.setdefault(cert["DomainName"], []).append({**cert, "Tags": tags})
        missing = {r.name for r in recorded} - set(certs)
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

    def observed_body(self, obs: Observation, cert: dict[str, Any], declared: Resource | None) -> dict[str, Any]:
        ctx = obs.ctx
        body = declared.body if declared else {}
        record = validation_record(cert)
        zones = [z for z in (body.get("validation_zone_id"), *ctx.zone_ids().values()) if z]
        listeners = [arn for arn in (body.get("listener_arn"), *ctx.listeners().values()) if arn]
        options = cert.get("DomainValidationOptions") or [{}]
        attached = [a for a in listeners if cert["CertificateArn"] in listener_certificates(obs, a)]
        return {
            "domain_name": cert["DomainName"],
            "validation_method": options[0].get("ValidationMethod"),
            "validation_zone_id": next((z for z in zones if validation_in_zone(zone_records(obs, z), record)), None),
            "listener_arn": attached[0] if attached else None,
            "status": cert.get("Status"),
            "tags": cert["Tags"],
        }
