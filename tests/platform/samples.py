"""A bootstrapped platform (its settings, and every output of its AWS pieces filled in) and services of each exposure
level, for the platform tests."""

from typing import Any

from provisioning.desired import render_service
from provisioning.desired.platform import render_platform
from provisioning.preflight import VENDORED_CRD_DIR
from provisioning.resources import KUBERNETES
from provisioning.spec import OnCallPair, PlatformSpec, Receivers, ServiceSpec, Slo, TeamSpec
from tests.specs import service_spec

CRDS = VENDORED_CRD_DIR

ACCOUNT = "123456789012"
REGION = "ap-northeast-1"
ELB = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}"
WAF = f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional"

PLATFORM = PlatformSpec(
    cluster_name="sandbox",
    region=REGION,
    vpc_id="vpc-0a1b2c3d4e5f60718",
    subnet_ids=("subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"),
    node_security_group_id="sg-0a1b2c3d4e5f60718",
    internal_zone_id="Z0INTERNAL",
    external_zone_id="Z0EXTERNAL",
    external_alb_arn=f"{ELB}:loadbalancer/app/portal-external-sandbox/50dc6c495c0c9188",
    external_alb_dns_name="portal-external-sandbox-1234567890.ap-northeast-1.elb.amazonaws.com",
    external_alb_zone_id="Z14GRHDCWA56QT",
    external_listener_arn=f"{ELB}:listener/app/portal-external-sandbox/50dc6c495c0c9188/f2f7dc8efc522ab2",
    external_web_acl_arn=f"{WAF}/webacl/portal-external-sandbox/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
    internal_alb_arn=f"{ELB}:loadbalancer/app/portal-internal-sandbox/6d0ecf831eec9f09",
    internal_alb_dns_name="internal-portal-internal-sandbox-987654321.ap-northeast-1.elb.amazonaws.com",
    internal_alb_zone_id="Z14GRHDCWA56QT",
    internal_listener_arn=f"{ELB}:listener/app/portal-internal-sandbox/6d0ecf831eec9f09/a2b3c4d5e6f70819",
    internal_web_acl_arn=f"{WAF}/webacl/portal-internal-sandbox/a1b2c3d4-5678-90ab-cdef-EXAMPLE22222",
    corp_ip_set_arn=f"{WAF}/ipset/portal-corp-sandbox/a1b2c3d4-5678-90ab-cdef-EXAMPLE33333",
    external_target_group_arn=f"{ELB}:targetgroup/portal-external-gw-sandbox/73e2d6bc24d8a067",
    internal_target_group_arn=f"{ELB}:targetgroup/portal-internal-gw-sandbox/943f017f100becff",
    aws_account_id=ACCOUNT,
    oidc_issuer="https://sso.example.com/realms/corp",
    sre_group="platform-sre",
    portal_url="https://portal.internal.example.com",
    # The team that runs the platform, with its channel, incident tool and pair on call.
    sre_team="platform",
    sre_slack_channel="#platform-alerts",
    sre_oncall=OnCallPair("erin", "frank", "erin@example.com", "frank@example.com"),
    sre_receivers=Receivers(
        slack_api_url="https://hooks.slack.example.com/services/T0/B0/platform",
        alertmanager_url="https://incidents.example.com/alertmanager/sre",
        alertmanager_token="sre-token",
        sns_url="https://incidents.example.com/sns/sre",
    ),
)

TEAM = TeamSpec(slug="payments", name="Payments", slack_channel="#payments-alerts", incident_sns_fingerprint="f" * 64)
RECEIVERS = Receivers(
    slack_api_url="https://hooks.slack.example.com/services/T0/B0/platform",
    alertmanager_url="https://incidents.example.com/alertmanager/platform",
    alertmanager_token="platform-token",
    sns_url="https://incidents.example.com/sns/platform",
)

# A public API and a corp-only one, both in the mesh with an allow-list (so an AuthorizationPolicy), an SLO
# (so a PrometheusRule) and a dashboard.
SERVICES: dict[str, ServiceSpec] = {
    level: service_spec(
        name=name,
        team=TEAM,
        level=level,
        hostnames=hostnames,
        allowed_callers=("checkout",),
        slo=Slo(availability=99.9, latency_p99_ms=300),
        dashboard=True,
        oncall=OnCallPair(incident_commander="alice", resolver="carol"),
        receivers=RECEIVERS,
    )
    for level, name, hostnames in (
        ("external", "payments-api", ("pay.example.com", "api.pay.example.com")),
        ("internal", "ledger", ("ledger.internal.example.com",)),
    )
}


def platform_manifests(platform: PlatformSpec = PLATFORM) -> list[dict[str, Any]]:
    """The platform layer's Kubernetes objects."""
    return [resource.body for resource in render_platform(platform) if resource.provider == KUBERNETES]


def service_manifests(svc: ServiceSpec, platform: PlatformSpec = PLATFORM) -> list[dict[str, Any]]:
    return [r.body for r in render_service(svc, platform) if r.provider == KUBERNETES]


def find(manifests: list[dict[str, Any]], kind: str, name: str | None = None, namespace: str | None = None) -> list:
    """The manifests of a kind, narrowed by name and namespace when given."""
    return [
        m
        for m in manifests
        if m["kind"] == kind
        and (name is None or m["metadata"]["name"] == name)
        and (namespace is None or m["metadata"].get("namespace", "") == namespace)
    ]


def one(manifests: list[dict[str, Any]], kind: str, name: str | None = None, namespace: str | None = None) -> dict:
    found = find(manifests, kind, name, namespace)
    assert len(found) == 1, f"expected one {kind} {namespace}/{name}, found {len(found)}"
    return found[0]
