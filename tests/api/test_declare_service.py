"""``PUT /api/v1/services/{name}/`` declares a service: it creates it or replaces its whole document, says which
(201 or 200), changes nothing for a document it already holds, and honours If-Match."""

import pytest

from portal.audit.models import AuditEvent
from portal.catalog.models import Service
from provisioning.models import Plan, ProvisioningRun

pytestmark = pytest.mark.usefixtures("platform", "gitops")

DOCUMENT = {
    "team": "payments",
    "description": "The ledger",
    "lifecycle": "production",
    "tier": 1,
    "port": 9090,
    "exposure": {"level": "internal", "hostnames": ["ledger.internal.example.com"]},
    "traffic": {"load_balancer": "least_request", "timeout_seconds": 5, "retries": {"attempts": 2}},
    "telemetry": {"slo": {"availability": 99.9}, "tracing_sampling_percent": 2.5},
}


def put(client, name: str, document: dict, **headers):
    return client.put(f"/api/v1/services/{name}/", document, format="json", **headers)


def test_put_creates_a_new_service_then_the_same_body_changes_nothing(api, member):
    client = api(member)
    first = put(client, "ledger", DOCUMENT)
    assert first.status_code == 201, first.json()
    assert first["Location"].endswith("/api/v1/services/ledger/")
    assert first["ETag"] == '"r1"'
    created = first.json()
    assert created["name"] == "ledger" and created["revision"] == 1
    assert created["traffic"]["load_balancer"] == "least_request"
    events = AuditEvent.objects.count()

    again = put(client, "ledger", DOCUMENT)
    assert again.status_code == 200, again.json()
    assert again.json() == created
    assert Service.objects.get(name="ledger").revision == 1
    assert AuditEvent.objects.count() == events, "an unchanged document is no edit"
    assert not ProvisioningRun.objects.exists() and not Plan.objects.exists()


def test_the_document_as_read_back_is_declared_unchanged(api, member):
    client = api(member)
    put(client, "ledger", DOCUMENT)
    read = client.get("/api/v1/services/ledger/").json()
    response = put(client, "ledger", read, HTTP_IF_MATCH='"r1"')
    assert response.status_code == 200 and response.json()["revision"] == 1


def test_put_replaces_the_whole_document(api, member):
    client = api(member)
    put(client, "ledger", DOCUMENT)
    response = put(client, "ledger", {"team": "payments", "traffic": {"load_balancer": "random"}})
    assert response.status_code == 200, response.json()
    document = response.json()
    assert document["revision"] == 2
    assert document["description"] == "" and document["lifecycle"] == "experimental", "omitted: the defaults"
    assert document["port"] == 8080 and document["tier"] == 3
    assert document["exposure"]["level"] == "mesh" and document["exposure"]["hostnames"] == []
    assert document["traffic"] == {**document["traffic"], "load_balancer": "random", "timeout_seconds": None}
    assert document["telemetry"]["slo"] is None


def test_put_honours_if_match(api, member):
    client = api(member)
    put(client, "ledger", DOCUMENT)
    stale = put(client, "ledger", {**DOCUMENT, "description": "new"}, HTTP_IF_MATCH='"r7"')
    assert stale.status_code == 409 and stale.json()["revision"] == 1
    assert Service.objects.get(name="ledger").description == "The ledger"
    current = put(client, "ledger", {**DOCUMENT, "description": "new"}, HTTP_IF_MATCH='"r1"')
    assert current.status_code == 200 and current.json()["revision"] == 2
    missing = put(client, "orders", {"team": "payments"}, HTTP_IF_MATCH='"r1"')
    assert missing.status_code == 409, "If-Match names a revision a missing service does not have"
    assert not Service.objects.filter(name="orders").exists()


def test_the_name_comes_from_the_url_and_may_not_disagree(api, member):
    client = api(member)
    response = put(client, "ledger", {**DOCUMENT, "name": "orders"})
    assert response.status_code == 400 and "name" in response.json()
    assert not Service.objects.exists()
    assert put(client, "Not_A_Label", {"team": "payments"}).status_code == 400
    assert not Service.objects.exists()


def test_bad_documents_write_nothing(api, member):
    client = api(member)
    response = put(client, "ledger", {**DOCUMENT, "telemetry": {"log_retention_days": 2}})
    assert response.status_code == 400 and "log_retention_days" in response.json()["telemetry"]
    assert not Service.objects.exists()


def test_creating_needs_the_teams_membership_and_replacing_the_services(api, member, outsider, sre):
    assert put(api(outsider), "ledger", DOCUMENT).status_code == 403
    assert not Service.objects.exists()
    assert put(api(member), "ledger", DOCUMENT).status_code == 201
    assert put(api(outsider), "ledger", {**DOCUMENT, "description": "mine"}).status_code == 403
    assert put(api(sre), "ledger", {**DOCUMENT, "description": "SRE's"}).status_code == 200
    assert api().put("/api/v1/services/orders/", DOCUMENT, format="json").status_code == 401
