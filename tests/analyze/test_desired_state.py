"""The portal's own desired state analyzes clean: the golden service shapes with the platform layer of a
bootstrapped platform (every output of its AWS pieces known, so records, certificates and the TargetGroupBinding
are rendered and the AWS checks have something to join), and the local sandbox's catalog as ``manage.py analyze``
reads it. Each known gap is one strict expected failure naming the missing piece; everything else must be empty.
"""

import dataclasses
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from portal.catalog.models import Membership, PlatformSettings, Team
from portal.users.models import User
from provisioning import names
from provisioning.analysis import analysis_settings, desired_state, inventory_of
from provisioning.analyze import Finding, Inventory, analyze
from provisioning.analyze.aws import AwsIndex
from provisioning.analyze.graph import Graph
from provisioning.aws.kinds import HOSTED_ZONE, LISTENER, LOAD_BALANCER, TARGET_GROUP, WEB_ACL
from provisioning.desired import render_service
from provisioning.desired.platform import render_platform
from provisioning.models import ManagedResource
from provisioning.resources import Resource
from provisioning.scopes import PLATFORM_KEY
from provisioning.snapshot import platform_snapshot
from provisioning.spec import EXPOSED_LEVELS, PlatformSpec, RouteSource
from tests.platform.samples import PLATFORM
from tests.provisioning.test_golden import PAYMENTS, SHAPES
from tests.specs import service_spec

# The gaps, each the finding class of one missing piece of the renderers.
ISSUER_CHAIN = "the internal-ca ClusterIssuer (and the CA chain behind it) is rendered by no builder"
PLATFORM_HOSTS = "the platform's own hostnames (OAuth2 Proxy's) have no Route53 record or ACM certificate on the ALB"
HEADER_ROUTES = (
    "a header route's target that restricts its callers has no AuthorizationPolicy admitting the gateway the "
    "route comes through"
)


def issuer_chain(finding: Finding) -> bool:
    return finding.code == "PA007" and "ClusterIssuer internal-ca" in finding.message


def platform_hosts(finding: Finding) -> bool:
    return finding.code in ("PA101", "PA102") and finding.object.startswith(f"Ingress/{names.OAUTH2_PROXY_NAMESPACE}/")


def header_routes(finding: Finding) -> bool:
    return finding.code == "PA005"


def platform_routing(finding: Finding) -> bool:
    return finding.code == "PA012" and finding.object == "PrometheusRule/monitoring/platform-cluster"


GAPS = (issuer_chain, platform_hosts, header_routes)


def test_the_platforms_cluster_alerts_reach_the_sre_team():
    assert [f.as_dict() for f in golden_findings() if platform_routing(f)] == []


def test_without_an_sre_team_the_cluster_alerts_reach_no_one():
    """The one warning the platform can have by its settings: nobody to route its own alerts to."""
    alone = dataclasses.replace(PLATFORM, sre_team="")
    findings = analyze(inventory_of(render_platform(alone), outputs_of(alone)), analysis_settings(alone))
    assert {(f.code, f.object) for f in findings} == {("PA012", "PrometheusRule/monitoring/platform-cluster")}


def outputs_of(platform: PlatformSpec) -> dict[tuple[str, str], dict]:
    """What a platform apply records for its AWS pieces (``snapshot.output_fields`` read backwards)."""
    cluster, found = platform.cluster_name, {}
    for level in EXPOSED_LEVELS:
        found[HOSTED_ZONE, platform.zone(level)] = {"zone_id": platform.zone_id(level)}
        found[LOAD_BALANCER, names.alb_name(cluster, level)] = {
            "arn": getattr(platform, f"{level}_alb_arn"),
            "dns_name": platform.alb_dns_name(level),
            "canonical_hosted_zone_id": platform.alb_zone_id(level),
        }
        found[LISTENER, names.https_listener_name(cluster, level)] = {"arn": platform.listener_arn(level)}
        found[TARGET_GROUP, names.target_group_name(cluster, level)] = {"arn": platform.target_group_arn(level)}
        found[WEB_ACL, names.web_acl_name(cluster, level)] = {"arn": getattr(platform, f"{level}_web_acl_arn")}
    return found


def golden_inventory() -> Inventory:
    """The platform layer and every golden shape, with the service the mobile header route leads to (a service
    that admits only its named callers)."""
    resources = list(render_platform(PLATFORM))
    target = service_spec(name="payments-sp", team=PAYMENTS, allowed_callers=("checkout",))
    # Who routes to it, as the snapshot tells a target (``snapshot.route_sources``).
    sources = tuple(
        RouteSource(svc.name, svc.exposure.level, svc.mesh, tuple(sorted(svc.traffic.allowed_callers)))
        for svc in SHAPES.values()
        if any(route.target == target.name for route in svc.exposure.routes)
    )
    assert sources, "a golden shape routes to the target"
    target = dataclasses.replace(target, routed_from=sources)
    for svc in [*SHAPES.values(), target]:
        resources.extend(render_service(svc, PLATFORM))
    return inventory_of(resources, outputs_of(PLATFORM))


def golden_findings() -> list[Finding]:
    return analyze(golden_inventory(), analysis_settings(PLATFORM))


def test_the_golden_state_joins_every_hostname_to_its_alb():
    """Not clean by accident: the shapes' hostnames are served on the ALBs and found with records and
    certificates (none of them is among the findings)."""
    index = AwsIndex(Graph(golden_inventory(), analysis_settings(PLATFORM)))
    served = {s.host for alb in index.of_kind(LOAD_BALANCER) for s in index.served(alb)}
    hostnames = {h for svc in SHAPES.values() for h in svc.exposure.hostnames}
    assert hostnames and hostnames <= served
    findings = golden_findings()
    assert not [f for f in findings if any(f"host {h} " in f.message for h in hostnames)]


def test_the_golden_state_has_no_other_findings():
    assert [f.as_dict() for f in golden_findings() if not any(gap(f) for gap in GAPS)] == []


def test_the_golden_state_has_its_issuer():
    assert [f.as_dict() for f in golden_findings() if issuer_chain(f)] == []


def test_the_golden_state_has_records_and_certificates_for_the_platform_hosts():
    assert [f.as_dict() for f in golden_findings() if platform_hosts(f)] == []


def test_the_golden_state_admits_the_gateway_along_header_routes():
    assert [f.as_dict() for f in golden_findings() if header_routes(f)] == []


# --- the local sandbox -------------------------------------------------------------------------------------------


@pytest.fixture
def services(platform, team):
    # The platform's own team, as ``make run`` sets one up: the cluster's alerts go to it.
    Team.objects.create(slug="platform", name="Platform", slack_channel="#platform-alerts")
    PlatformSettings.objects.update(sre_team="platform")
    user = User.objects.create(username="alice")
    Membership.objects.create(team=team, user=user, role="member")
    client = APIClient()
    client.force_authenticate(user)
    for payload in (
        {"name": "checkout"},
        # Exposed through the internal gateway and closed to all callers but checkout: the gateway must stay admitted.
        {
            "name": "ledger",
            "exposure": {"level": "internal", "hostnames": ["ledger.internal.example.com"]},
            "traffic": {"allowed_callers": ["checkout"], "canary": {"version": "v2", "weight": 10}},
        },
    ):
        response = client.post("/api/v1/services/", {"team": "payments", **payload}, format="json")
        assert response.status_code == 201, response.json()


@pytest.fixture
def applied_platform(services):
    """The sandbox after its platform apply: the platform's AWS pieces in the inventory with their outputs."""
    fresh = platform_snapshot()
    for (kind, name), outputs in outputs_of(PLATFORM).items():
        piece = next(r for r in render_platform(fresh) if (r.kind, r.name) == (kind, replaced(name, fresh)))
        record(piece, outputs)
    return platform_snapshot()


def replaced(name: str, platform: PlatformSpec) -> str:
    """A piece of the sample platform named as the sandbox names it (its cluster and zones)."""
    for level in EXPOSED_LEVELS:
        name = name.replace(PLATFORM.zone(level), platform.zone(level))
    return name.replace(PLATFORM.cluster_name, platform.cluster_name)


def record(resource: Resource, outputs: dict) -> None:
    ManagedResource.objects.create(
        scope=PLATFORM_KEY,
        key=resource.key,
        provider=resource.provider,
        kind=resource.kind,
        namespace=resource.namespace,
        name=resource.name,
        outputs=outputs,
        applied_digest=resource.digest,
    )


def sandbox_findings() -> list[Finding]:
    inventory, settings = desired_state()
    return analyze(inventory, settings)


def test_the_desired_state_holds_the_platform_and_every_service_with_their_aws_resources(applied_platform):
    inventory, settings = desired_state()
    idents = {o.ident for o in inventory.objects}
    assert {
        "Gateway/istio-ingress/internal-gateway",
        "VirtualService/ledger/ledger",
        "Service/checkout/checkout",
    } <= idents
    assert len([i for i in idents if i.startswith("TargetGroupBinding/")]) == 2
    assert settings.root_namespace == "istio-system"
    assert {"route53.Record", "logs.LogGroup", "elbv2.LoadBalancer"} <= {r.kind for r in inventory.aws}
    assert all(r.outputs for r in inventory.aws if r.kind == "elbv2.LoadBalancer")


def test_the_sandbox_has_no_other_findings(applied_platform):
    assert [f.as_dict() for f in sandbox_findings() if not any(gap(f) for gap in GAPS)] == []


def test_the_sandbox_has_its_issuer(applied_platform):
    assert [f.as_dict() for f in sandbox_findings() if issuer_chain(f)] == []


def test_the_sandbox_has_records_and_certificates_for_the_platform_hosts(applied_platform):
    assert [f.as_dict() for f in sandbox_findings() if platform_hosts(f)] == []


def test_without_files_the_command_analyzes_the_desired_state(applied_platform):
    out = StringIO()
    try:
        call_command("analyze", "--format", "json", stdout=out)
    except CommandError as raised:
        assert raised.returncode == 1
    findings = json.loads(out.getvalue())["findings"]
    assert not [f for f in findings if "/ledger/" in f["object"] or "/checkout/" in f["object"]], findings
