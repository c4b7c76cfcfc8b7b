"""A header route's target admits whatever the route brings it (seed §15: ``storefront`` -> ``storefront-sp``):
the source's level gateway for requests from its ALB, the source's callers for requests inside the mesh. Without
that, a target with its own allow-list answers 403 to every routed request, which ``analyze`` reports (PA005)."""

import dataclasses

import pytest
from rest_framework.test import APIClient

from portal.catalog.models import Membership
from portal.users.models import User
from provisioning import names
from provisioning.analyze.checks import analyze
from provisioning.analyze.model import Inventory, Settings
from provisioning.preflight import SchemaValidator
from provisioning.snapshot import load_service
from provisioning.spec import Route, RouteSource
from tests.specs import service_spec

from .samples import CRDS, PLATFORM, TEAM, one, platform_manifests, service_manifests

STOREFRONT = service_spec(
    name="storefront",
    team=TEAM,
    level="external",
    hostnames=("shop.example.com",),
    routes=(Route("user-agent", "regex", ".*Mobile.*", "storefront-sp"),),
)
# Reached only through the storefront's route, and closed to every caller but checkout.
STOREFRONT_SP = service_spec(
    name="storefront-sp",
    team=TEAM,
    allowed_callers=("checkout",),
    routed_from=(RouteSource("storefront", "external"),),
)


def rules(svc):
    return one(service_manifests(svc), "AuthorizationPolicy", svc.name)["spec"]["rules"]


def principals(svc) -> set[str]:
    return {
        p
        for rule in rules(svc)
        if "to" not in rule
        for s in rule.get("from", [])
        for p in s["source"].get("principals", [])
    }


def addressed(svc) -> list[dict]:
    """Rules admitting requests by the Host they are addressed to."""
    return [rule for rule in rules(svc) if any("hosts" in to["operation"] for to in rule.get("to", []))]


def findings(*services):
    manifests = platform_manifests() + [m for svc in services for m in service_manifests(svc)]
    return analyze(Inventory.from_manifests(manifests), Settings(root_namespace=PLATFORM.istio_root_namespace))


def test_the_target_of_an_exposed_services_route_admits_that_levels_gateway():
    gateway = names.ingress_gateway_principal(PLATFORM.ingress_namespace, "external")
    assert gateway in principals(STOREFRONT_SP)
    assert names.principal("checkout") in principals(STOREFRONT_SP)
    assert not [f for f in findings(STOREFRONT, STOREFRONT_SP) if f.code == "PA005"]


def test_without_knowing_its_sources_the_target_would_refuse_the_gateway():
    # The check the fix answers to: the same pair with the target unaware of the route is a PA005 error.
    unaware = dataclasses.replace(STOREFRONT_SP, routed_from=())
    found = [f for f in findings(STOREFRONT, unaware) if f.code == "PA005"]
    assert [f.object for f in found] == ["VirtualService/storefront/storefront"], found


def test_a_source_with_an_allow_list_brings_its_callers_only():
    source = RouteSource("storefront", "internal", allowed_callers=("web", "bff"))
    target = dataclasses.replace(STOREFRONT_SP, routed_from=(source,))
    assert principals(target) == {
        names.principal("checkout"),
        names.principal("web"),
        names.principal("bff"),
        names.ingress_gateway_principal(PLATFORM.ingress_namespace, "internal"),
    }
    assert addressed(target) == []


def test_a_source_open_to_the_mesh_brings_every_caller_but_only_for_requests_addressed_to_it():
    source = RouteSource("catalog")
    target = dataclasses.replace(STOREFRONT_SP, routed_from=(source,))
    (rule,) = addressed(target)
    assert rule["from"] == [{"source": {"principals": ["*"]}}]
    hosts = rule["to"][0]["operation"]["hosts"]
    assert names.mesh_host("catalog") in hosts and f"{names.mesh_host('catalog')}:*" in hosts
    assert "catalog.catalog:*" in hosts
    assert not any(host.startswith("storefront-sp") for host in hosts), "direct calls still need the allow-list"
    assert principals(target) == {names.principal("checkout")}
    assert SchemaValidator.from_crd_dir(CRDS).validate_all(service_manifests(target)) == []


def test_a_source_outside_the_mesh_brings_nothing():
    target = dataclasses.replace(STOREFRONT_SP, routed_from=(RouteSource("legacy", "internal", mesh=False),))
    assert principals(target) == {names.principal("checkout")}


@pytest.fixture
def client(team, platform):
    user = User.objects.create(username="alice")
    Membership.objects.create(team=team, user=user, role="member")
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_the_snapshot_knows_which_services_route_to_a_target(client):
    for payload in (
        {"name": "checkout"},
        {"name": "storefront-sp", "traffic": {"allowed_callers": ["checkout"]}},
        {
            "name": "storefront",
            "exposure": {
                "level": "internal",
                "hostnames": ["shop.internal.example.com"],
                "routes": [{"header": "User-Agent", "regex": ".*Mobile.*", "service": "storefront-sp"}],
            },
            "traffic": {"allowed_callers": ["checkout"]},
        },
    ):
        response = client.post("/api/v1/services/", {"team": "payments", **payload}, format="json")
        assert response.status_code == 201, response.json()
    target = load_service("storefront-sp")
    assert target.routed_from == (RouteSource("storefront", "internal", True, ("checkout",)),)
    assert load_service("storefront").routed_from == ()
    source = load_service("storefront")
    assert not [f for f in findings(source, target) if f.code == "PA005"]
