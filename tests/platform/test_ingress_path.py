"""From each level's ALB to a service: every name on the way must be the one the next hop looks for.

ALB (its target group) -> TargetGroupBinding -> NodePort Service -> gateway pods (selector) -> Gateway (selector,
name) -> the service's VirtualService (``render_service``), and the gateway's ServiceAccount -> the principal the
service's AuthorizationPolicy admits. One walk over the snapshot's ARNs, one over a bootstrapped sandbox.
"""

import io
from typing import Any

import boto3
import pytest
from django.core.management import call_command

from provisioning import names
from provisioning.operations import bootstrap_platform
from provisioning.snapshot import platform_snapshot
from provisioning.spec import EXPOSED_LEVELS

from .samples import PLATFORM, REGION, SERVICES, find, one, platform_manifests, service_manifests


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and labels.items() >= selector.items()


def istio_host_matches(pattern: str, host: str) -> bool:
    """Istio's host matching: ``*`` is everything, ``*.zone`` every name under the zone."""
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return pattern == host


def walk(manifests: list[dict[str, Any]], target_group_arn: str, level: str) -> dict[str, Any]:
    """Follow the binding of one target group to the Gateway serving it; return what was found on the way."""
    (binding,) = [m for m in find(manifests, "TargetGroupBinding") if m["spec"]["targetGroupARN"] == target_group_arn]
    assert binding["spec"]["targetType"] == "instance", "nodes on a NodePort are instance targets"
    ns = binding["metadata"]["namespace"]
    ref = binding["spec"]["serviceRef"]

    service = one(manifests, "Service", ref["name"], ns)
    assert service["spec"]["type"] == "NodePort"
    (port,) = [p for p in service["spec"]["ports"] if ref["port"] in (p["name"], p["port"])]

    deployments = [
        d
        for d in find(manifests, "Deployment", namespace=ns)
        if selects(service["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])
    ]
    assert len(deployments) == 1, "each level's NodePort reaches its own gateway pods only"
    (deployment,) = deployments
    pod = deployment["spec"]["template"]
    assert selects(deployment["spec"]["selector"]["matchLabels"], pod["metadata"]["labels"])
    container_ports = [p for c in pod["spec"]["containers"] for p in c.get("ports", [])]
    assert port["targetPort"] in [p["containerPort"] for p in container_ports] + [p["name"] for p in container_ports]

    gateways = [g for g in find(manifests, "Gateway") if selects(g["spec"]["selector"], pod["metadata"]["labels"])]
    assert len(gateways) == 1, "exactly one Gateway configures each level's gateway pods"
    (gateway,) = gateways
    assert gateway["metadata"]["name"] == names.gateway_name(level)
    assert gateway["metadata"]["namespace"] == ns

    # The ALB speaks HTTPS to the NodePort: the Gateway must serve TLS on the Service's port, with a credential
    # cert-manager writes into the gateway's namespace.
    (server,) = [s for s in gateway["spec"]["servers"] if s["port"]["number"] == port["port"]]
    assert server["port"]["protocol"] == "HTTPS" and server["tls"]["mode"] == "SIMPLE"
    certificates = find(manifests, "Certificate", namespace=ns)
    assert server["tls"]["credentialName"] in [c["spec"]["secretName"] for c in certificates]
    # ALBs send no SNI to targets: only a server without SNI matching (hosts "*") completes their handshake.
    assert server["hosts"] == ["*"]
    return {"gateway": gateway, "server": server, "deployment": deployment, "namespace": ns}


@pytest.mark.parametrize("level", EXPOSED_LEVELS)
def test_the_alb_reaches_the_services_virtual_service(level):
    manifests = platform_manifests()
    found = walk(manifests, PLATFORM.target_group_arn(level), level)
    gateway, server = found["gateway"], found["server"]

    svc = SERVICES[level]
    virtual_service = one(service_manifests(svc), "VirtualService", svc.name)
    refs = [g for g in virtual_service["spec"]["gateways"] if g != "mesh"]
    assert refs == [f"{gateway['metadata']['namespace']}/{gateway['metadata']['name']}"]
    assert refs == [names.gateway_ref(PLATFORM.ingress_namespace, level)]
    for host in svc.exposure.hostnames:
        assert host.endswith(f".{PLATFORM.zone(level)}")
        assert any(istio_host_matches(pattern, host) for pattern in server["hosts"]), host


@pytest.mark.parametrize("level", EXPOSED_LEVELS)
def test_the_services_authorization_policy_admits_the_platforms_gateway_identity(level):
    manifests = platform_manifests()
    deployment = walk(manifests, PLATFORM.target_group_arn(level), level)["deployment"]
    account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
    ns = deployment["metadata"]["namespace"]
    one(manifests, "ServiceAccount", account, ns)

    svc = SERVICES[level]
    policy = one(service_manifests(svc), "AuthorizationPolicy", svc.name)
    sources = [source["source"] for rule in policy["spec"]["rules"] for source in rule.get("from", [])]
    principals = {principal for source in sources for principal in source.get("principals", [])}
    callers = {names.principal(caller) for caller in svc.traffic.allowed_callers}
    assert principals - callers == {f"{names.CLUSTER_DOMAIN}/ns/{ns}/sa/{account}"}


def test_a_level_never_reaches_the_other_levels_gateway():
    manifests = platform_manifests()
    internal = walk(manifests, PLATFORM.internal_target_group_arn, "internal")["deployment"]
    external = walk(manifests, PLATFORM.external_target_group_arn, "external")["deployment"]
    assert internal["metadata"]["name"] != external["metadata"]["name"]
    assert (
        internal["spec"]["template"]["spec"]["serviceAccountName"]
        != external["spec"]["template"]["spec"]["serviceAccountName"]
    )


def test_internal_names_no_mesh_service_claims_go_on_to_nginx():
    manifests = platform_manifests()
    routes = [
        vs
        for vs in find(manifests, "VirtualService")
        if names.gateway_ref(PLATFORM.ingress_namespace, "internal") in vs["spec"]["gateways"]
    ]
    (route,) = routes
    # The platform's own hosts exactly (a mesh service claiming one is a visible conflict), then the zone.
    assert route["spec"]["hosts"] == [*names.platform_hosts(PLATFORM)["internal"], f"*.{PLATFORM.internal_zone}"]
    (destination,) = [d["destination"] for r in route["spec"]["http"] for d in r["route"]]
    nginx = "ingress-nginx-controller." + names.INGRESS_NGINX_NAMESPACE
    assert destination["host"].startswith(nginx + ".svc.")
    rule = one(manifests, "DestinationRule", namespace=PLATFORM.ingress_namespace)
    assert rule["spec"]["host"] == destination["host"] and rule["spec"]["trafficPolicy"]["tls"]["mode"] == "SIMPLE"
    assert rule["spec"]["exportTo"] == ["."], "the TLS origination is the gateway's alone"
    assert not any(names.gateway_ref(PLATFORM.ingress_namespace, "external") in vs["spec"]["gateways"] for vs in routes)


def test_a_bootstrapped_sandbox_albs_forward_to_the_bound_target_groups(platform, settings, tmp_path):
    """The platform's real ALBs: each HTTPS listener forwards (HTTPS) to the target group the platform binds."""
    settings.PORTAL_GITOPS_DIR = tmp_path / "gitops"
    call_command("prepare_sandbox", stdout=io.StringIO())
    bootstrap_platform(wait_seconds=10)
    snapshot = platform_snapshot()
    manifests = platform_manifests(snapshot)
    elbv2 = boto3.session.Session().client("elbv2", region_name=REGION)
    for level in EXPOSED_LEVELS:
        alb = getattr(snapshot, f"{level}_alb_arn")
        (listener,) = [
            item for item in elbv2.describe_listeners(LoadBalancerArn=alb)["Listeners"] if item["Port"] == 443
        ]
        (action,) = listener["DefaultActions"]
        (target_group,) = elbv2.describe_target_groups(TargetGroupArns=[action["TargetGroupArn"]])["TargetGroups"]
        assert (target_group["Protocol"], target_group["TargetType"]) == ("HTTPS", "instance")
        assert target_group["HealthCheckProtocol"] == "HTTPS"
        walk(manifests, action["TargetGroupArn"], level)
