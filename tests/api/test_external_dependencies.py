"""Upstreams outside the cluster: declared in a service's traffic section, validated field by field, rendered as a
ServiceEntry and a DestinationRule in the service's namespace, shown in the plan and the resource graph."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from portal.catalog.forms.service import ServiceWizard, document_from_flat, flat_from_document
from portal.catalog.models import Service
from provisioning.desired import SERVICE_KINDS, render_service
from provisioning.graph import build_graph
from provisioning.snapshot import load_service, platform_snapshot

pytestmark = pytest.mark.usefixtures("platform", "gitops")

AURORA = {
    "name": "orders-db",
    "host": "orders.cluster-c1a2b3.ap-northeast-1.rds.amazonaws.com",
    "port": 3306,
    "protocol": "mysql",
    "tls": "application",
}
CARDS = {"name": "card-api", "host": "API.Cards.example.net.", "port": 443, "protocol": "http", "ca_secret": "cards-ca"}


def create(client, **data):
    return client.post("/api/v1/services/", {"team": "payments", **data}, format="json")


def dependency_errors(response) -> list:
    assert response.status_code == 400, response.content
    return response.json()["traffic"]["external_dependencies"]


def test_a_service_with_dependencies_plans_a_service_entry_and_a_destination_rule_each(api, member):
    client = api(member)
    response = create(client, name="orders", traffic={"external_dependencies": [AURORA, CARDS]})
    assert response.status_code == 201, response.json()
    stored = response.json()["traffic"]["external_dependencies"]
    assert stored == [
        {**AURORA, "ca_secret": ""},
        {**CARDS, "host": "api.cards.example.net", "tls": "sidecar"},
    ]
    assert client.get("/api/v1/services/orders/").json()["traffic"]["external_dependencies"] == stored

    plan = client.post("/api/v1/services/orders/plan/").json()
    changes = {(c["kind"], c["name"]): c for c in plan["changes"] if c["namespace"] == "orders"}
    for name in ("external-orders-db", "external-card-api"):
        assert changes[("ServiceEntry", name)]["action"] == "create"
        assert changes[("DestinationRule", name)]["action"] == "create"

    def new(kind, name, path):
        return next(d["new"] for d in changes[(kind, name)]["diff"] if d["path"] == path)

    assert new("ServiceEntry", "external-orders-db", "spec.location") == "MESH_EXTERNAL"
    assert new("ServiceEntry", "external-orders-db", "spec.resolution") == "DNS"
    assert new("DestinationRule", "external-orders-db", "spec.trafficPolicy.tls.mode") == "DISABLE"
    assert new("DestinationRule", "external-card-api", "spec.trafficPolicy.tls.mode") == "SIMPLE"
    assert new("DestinationRule", "external-card-api", "spec.trafficPolicy.tls.sni") == "api.cards.example.net"
    assert new("DestinationRule", "external-card-api", "spec.trafficPolicy.tls.credentialName") == "cards-ca"


def test_the_system_cas_verify_when_no_ca_secret_is_named(api, member):
    client = api(member)
    dependency = {"name": "search", "host": "search.example.org", "port": 443, "protocol": "http"}
    assert create(client, name="orders", traffic={"external_dependencies": [dependency]}).status_code == 201
    rule = next(
        r.body
        for r in render_service(load_service("orders"), platform_snapshot())
        if r.kind == "DestinationRule" and r.name == "external-search"
    )
    assert rule["spec"]["trafficPolicy"]["tls"] == {"mode": "SIMPLE", "sni": "search.example.org"}
    assert "workloadSelector" not in rule["spec"]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"port": 0}, "port", "greater than or equal to 1"),
        ({"port": 65536}, "port", "less than or equal to 65535"),
        ({"port": "db"}, "port", "valid integer"),
        ({"host": "10.0.3.7"}, "host", "IP address"),
        ({"host": "2001:db8::1"}, "host", "IP address"),
        ({"host": "not a host"}, "host", "not a valid hostname"),
        ({"host": "*.rds.amazonaws.com"}, "host", "wildcards"),
        ({"host": "ledger.ledger.svc.cluster.local"}, "host", "inside the cluster"),
        ({"host": "db.123"}, "host", "last label is a number"),
        ({"name": "Orders_DB"}, "name", "DNS-1123"),
        ({"protocol": "smtp"}, "protocol", "not a valid choice"),
        ({"tls": "sidecar"}, "tls", "inside its own protocol"),
        ({"ca_secret": "rds-ca"}, "ca_secret", "give the CA bundle to its pods"),
    ],
)
def test_a_bad_dependency_is_refused_naming_its_field_and_nothing_is_written(api, member, change, field, words):
    client = api(member)
    response = create(client, name="orders", traffic={"external_dependencies": [CARDS, {**AURORA, **change}]})
    errors = dependency_errors(response)
    assert list(errors) == ["1"] and list(errors["1"]) == [field], errors
    assert words in " ".join(errors["1"][field]), errors
    assert not Service.objects.filter(name="orders").exists()


def test_an_edit_with_a_bad_dependency_leaves_the_service_as_it_was(api, member):
    client = api(member)
    assert create(client, name="orders", traffic={"external_dependencies": [AURORA]}).status_code == 201
    before = client.get("/api/v1/services/orders/").json()
    response = client.patch(
        "/api/v1/services/orders/",
        {"traffic": {"external_dependencies": [{**AURORA, "port": 99999}]}},
        format="json",
    )
    assert list(dependency_errors(response)["0"]) == ["port"]
    after = client.get("/api/v1/services/orders/").json()
    assert after["revision"] == before["revision"]
    assert after["traffic"]["external_dependencies"] == before["traffic"]["external_dependencies"]


def test_dependencies_are_bounded_named_once_and_need_the_mesh(api, member):
    client = api(member)
    many = [{**AURORA, "name": f"db-{i}"} for i in range(21)]
    response = create(client, name="orders", traffic={"external_dependencies": many})
    assert "at most 20 external dependencies" in json.dumps(dependency_errors(response))
    twice = create(client, name="orders", traffic={"external_dependencies": [AURORA, {**CARDS, "name": "orders-db"}]})
    assert "orders-db is used twice" in json.dumps(dependency_errors(twice))
    outside = create(client, name="orders", mesh=False, traffic={"external_dependencies": [AURORA]})
    assert "mesh" in json.dumps(dependency_errors(outside))
    assert not Service.objects.filter(name="orders").exists()


def test_service_entries_are_pruned_with_the_service_kinds():
    assert ("networking.istio.io/v1", "ServiceEntry") in SERVICE_KINDS


def test_the_graph_shows_each_upstream_behind_its_service_entry(api, member):
    assert create(api(member), name="orders", traffic={"external_dependencies": [AURORA, CARDS]}).status_code == 201
    svc = load_service("orders")
    graph = build_graph(svc, render_service(svc, platform_snapshot()))
    by_id = {n.id: n for n in graph.nodes}
    labels = {(by_id[e.source].label, by_id[e.target].label, e.label) for e in graph.edges}
    assert (
        "ServiceEntry\nexternal-orders-db",
        "orders.cluster-c1a2b3.ap-northeast-1.rds.amazonaws.com\n3306/TCP",
        "egress",
    ) in labels
    assert ("DestinationRule\nexternal-card-api", "ServiceEntry\nexternal-card-api", "sidecar originates TLS") in labels
    assert (
        "DestinationRule\nexternal-orders-db",
        "ServiceEntry\nexternal-orders-db",
        "TLS by the application",
    ) in labels
    assert {n.group for n in graph.nodes if "api.cards.example.net" in n.label} == {"external"}


def test_the_analyzer_finds_nothing_in_the_dependencies(api, member):
    assert create(api(member), name="orders", traffic={"external_dependencies": [AURORA, CARDS]}).status_code == 201
    out = StringIO()
    try:
        call_command("analyze", "--format", "json", stdout=out)
    except CommandError as raised:
        assert raised.returncode == 1
    findings = json.loads(out.getvalue())["findings"]
    assert not [f for f in findings if "/orders/" in f["object"]], findings


def test_the_form_reads_and_writes_one_dependency_a_line(team):
    document = {"traffic": {"external_dependencies": [{**AURORA, "ca_secret": ""}, {**CARDS, "tls": "sidecar"}]}}
    flat = flat_from_document(document)
    assert flat["external_dependencies"].splitlines() == [
        "orders-db orders.cluster-c1a2b3.ap-northeast-1.rds.amazonaws.com:3306 mysql tls=application",
        "card-api API.Cards.example.net.:443 http tls=sidecar ca=cards-ca",
    ]
    parsed = document_from_flat({**flat, "name": "orders", "team": "payments"})["traffic"]["external_dependencies"]
    assert [{**d, "port": int(d["port"])} for d in parsed] == [AURORA, {**CARDS, "tls": "sidecar"}]


def test_the_form_says_which_line_and_field_is_wrong(team):
    flat = {
        "name": "orders",
        "team": "payments",
        "mesh": "true",
        "external_dependencies": "orders-db orders.example.com:3306 mysql tls=application\nbad 10.0.0.1:70000",
    }
    errors = ServiceWizard(flat, instance=None, teams=[("payments", "Payments")]).step_errors("traffic")
    messages = errors.fields["external_dependencies"]
    assert any(m.startswith("Line 2, host:") and "IP address" in m for m in messages), messages
    assert any(m.startswith("Line 2, port:") for m in messages), messages
