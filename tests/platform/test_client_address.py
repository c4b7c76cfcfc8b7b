"""The client's address survives ALB -> NodePort -> gateway: each level's gateway trusts the ALB's X-Forwarded-For
entry (one hop, never more), so a source-IP hash at the gateway hashes the client, not the node it came through."""

import pytest
import yaml

from provisioning import names
from provisioning.spec import EXPOSED_LEVELS
from tests.specs import service_spec

from .samples import PLATFORM, TEAM, one, platform_manifests, service_manifests


def gateway_proxy_config(level: str) -> dict:
    deployment = one(platform_manifests(), "Deployment", names.ingress_gateway_name(level), PLATFORM.ingress_namespace)
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    return yaml.safe_load(annotations["proxy.istio.io/config"])


@pytest.mark.parametrize("level", EXPOSED_LEVELS)
def test_each_gateway_trusts_exactly_the_albs_hop(level):
    # Zero would make every client the node; two would let a client choose its address by sending its own header.
    assert gateway_proxy_config(level) == {"gatewayTopology": {"numTrustedProxies": 1}}


@pytest.mark.parametrize("level", EXPOSED_LEVELS)
def test_a_source_ip_hash_behind_the_alb_is_made_by_the_gateway_that_knows_the_client(level):
    svc = service_spec(
        name="cart",
        team=TEAM,
        level=level,
        hostnames=(f"cart.{PLATFORM.zone(level)}",),
        load_balancer="consistent_hash",
        hash_on="source_ip",
    )
    manifests = service_manifests(svc)
    rule = one(manifests, "DestinationRule", "cart")
    assert rule["spec"]["trafficPolicy"]["loadBalancer"] == {"consistentHash": {"useSourceIp": True}}
    # The rule is visible to the gateway (exported everywhere), which picks the endpoint for the ALB's requests.
    assert "exportTo" not in rule["spec"]
    service = one(manifests, "VirtualService", "cart")
    assert names.gateway_ref(PLATFORM.ingress_namespace, level) in service["spec"]["gateways"]
    assert gateway_proxy_config(level)["gatewayTopology"]["numTrustedProxies"] == 1
