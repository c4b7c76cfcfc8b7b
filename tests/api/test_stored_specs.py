"""Service documents come from the spec stored with each edit; whatever changes the rows behind it, through the
API or around it, the next read shows the change."""

import json

import pytest

from portal.catalog.documents import build_documents
from portal.catalog.models import Hostname, Service, Traffic

pytestmark = pytest.mark.usefixtures("platform", "gitops")


def create(client, **data):
    response = client.post("/api/v1/services/", {"team": "payments", **data}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def served(client, name: str) -> tuple[dict, dict]:
    """The service as the detail and as the list show it."""
    detail = client.get(f"/api/v1/services/{name}/")
    assert detail.status_code == 200
    listed = client.get("/api/v1/services/", {"page_size": 500}).json()["results"]
    return detail.json(), next(s for s in listed if s["name"] == name)


def from_tables(name: str) -> dict:
    service = Service.objects.get(name=name)
    Service.objects.filter(pk=service.pk).update(spec_json="")
    return json.loads(json.dumps(build_documents([service.pk])[service.pk]))


def test_an_edit_stores_the_spec_and_both_reads_serve_what_the_tables_hold(api, member):
    client = api(member)
    create(client, name="ledger")
    written = create(
        client,
        name="shop",
        exposure={"level": "internal", "hostnames": ["shop.internal.example.com"], "routes": []},
        traffic={"load_balancer": "consistent_hash", "hash_on": "header:x-user", "allowed_callers": ["ledger"]},
        telemetry={"slo": {"availability": 99.9, "latency_p99_ms": 250}, "tracing_sampling_percent": 2.5},
    )
    service = Service.objects.get(name="shop")
    assert service.spec_json and service.spec_revision == service.revision == 1
    detail, listed = served(client, "shop")
    assert detail == listed == written
    assert list(detail) == list(written), "the same key order"
    changed = client.patch("/api/v1/services/shop/", {"description": "the shop"}, format="json").json()
    service.refresh_from_db()
    assert service.spec_revision == service.revision == 2
    detail, listed = served(client, "shop")
    assert detail == listed == changed == from_tables("shop")


def test_changes_made_around_the_serializer_show_at_the_next_read(api, member):
    client = api(member)
    create(client, name="ledger")
    create(client, name="billing", traffic={"allowed_callers": ["ledger"]})
    create(client, name="shop", exposure={"level": "internal", "hostnames": ["shop.internal.example.com"]})
    served(client, "shop")

    Hostname.objects.filter(fqdn="shop.internal.example.com").update(fqdn="x")  # no signal: the revision rules
    Service.objects.filter(name="shop").update(revision=5)
    assert served(client, "shop")[0]["exposure"]["hostnames"] == ["x"]
    assert Service.objects.get(name="shop").spec_revision == 5, "the rebuilt spec is stored"

    hostname = Hostname.objects.get(fqdn="x")
    hostname.fqdn = "shop2.internal.example.com"
    hostname.save()
    detail, listed = served(client, "shop")
    assert detail["exposure"]["hostnames"] == listed["exposure"]["hostnames"] == ["shop2.internal.example.com"]

    traffic = Traffic.objects.get(service__name="shop")
    traffic.load_balancer = "random"
    traffic.save()
    assert served(client, "shop")[0]["traffic"]["load_balancer"] == "random"

    traffic.allowed_callers.add(Service.objects.get(name="ledger"))
    assert served(client, "shop")[1]["traffic"]["allowed_callers"] == ["ledger"]
    Service.objects.get(name="ledger").callable_by.clear()  # seen from the callee
    assert served(client, "shop")[0]["traffic"]["allowed_callers"] == []
    assert served(client, "billing")[1]["traffic"]["allowed_callers"] == []


def test_a_deleted_caller_leaves_the_documents_that_named_it(api, member):
    client = api(member)
    create(client, name="ledger")
    create(client, name="billing", traffic={"allowed_callers": ["ledger"]})
    assert served(client, "billing")[1]["traffic"]["allowed_callers"] == ["ledger"]
    Service.objects.get(name="ledger").delete()
    assert served(client, "billing")[1]["traffic"]["allowed_callers"] == []


def test_the_browsable_api_lists_the_same_documents(api, member):
    client = api(member)
    create(client, name="ledger", description='Ünïcode and "quotes"')
    as_json = client.get("/api/v1/services/")
    assert as_json["Content-Type"] == "application/json"
    assert as_json.json()["results"][0]["description"] == 'Ünïcode and "quotes"'
    page = client.get("/api/v1/services/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and "text/html" in page["Content-Type"]
    assert "Ünïcode and \\&quot;quotes\\&quot;" in page.content.decode()
