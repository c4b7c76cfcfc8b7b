"""A service's runbook URL: part of its document everywhere the document goes (the API, spec files and their JSON
schema, stored specs, the service form, the admin, Backstage), checked as a link people open."""

import orjson
import pytest

from portal.catalog.documents import service_documents
from portal.catalog.forms.service import document_from_flat, flat_from_document
from portal.catalog.models import PlatformSettings, Service
from provisioning.desired.prometheus import build_dashboard, dashboard_uid
from provisioning.snapshot import load_service, platform_snapshot

pytestmark = pytest.mark.usefixtures("platform", "gitops")

RUNBOOK = "https://wiki.example.com/runbooks/ledger"
WITH_DASHBOARD = {"name": "ledger", "team": "payments", "telemetry": {"dashboard": True}}


def test_the_document_holds_the_runbook_url(api, member):
    client = api(member)
    response = client.post("/api/v1/services/", {"name": "ledger", "team": "payments"}, format="json")
    assert response.status_code == 201 and response.json()["runbook_url"] == ""
    response = client.patch("/api/v1/services/ledger/", {"runbook_url": RUNBOOK}, format="json")
    assert response.status_code == 200 and response.json()["runbook_url"] == RUNBOOK
    assert client.get("/api/v1/services/").json()["results"][0]["runbook_url"] == RUNBOOK
    assert Service.objects.get(name="ledger").runbook_url == RUNBOOK


@pytest.mark.parametrize("url", ["ftp://wiki.example.com/runbook", "runbook", "https://", "javascript:alert(1)"])
def test_a_runbook_url_is_an_http_link(api, member, url):
    response = api(member).post(
        "/api/v1/services/", {"name": "ledger", "team": "payments", "runbook_url": url}, format="json"
    )
    assert response.status_code == 400 and list(response.json()) == ["runbook_url"], response.json()
    assert not Service.objects.exists()


def test_a_spec_stored_before_the_field_is_built_again(api, member):
    client = api(member)
    client.post("/api/v1/services/", {"name": "ledger", "team": "payments", "runbook_url": RUNBOOK}, format="json")
    service = Service.objects.get(name="ledger")
    old = orjson.loads(service.spec_json)
    del old["runbook_url"]
    Service.objects.filter(pk=service.pk).update(spec_json=orjson.dumps(old).decode())
    assert client.get("/api/v1/services/ledger/").json()["runbook_url"] == RUNBOOK
    stored = orjson.loads(Service.objects.get(pk=service.pk).spec_json)
    assert stored["runbook_url"] == RUNBOOK
    assert list(stored) == [k for k in service_documents([service])[0] if k not in ("state", "revision", "updated_at")]


def test_spec_files_and_their_schema_know_the_runbook_url(client, api, member):
    schema = client.get("/api/schema/service-spec.json").json()
    assert '"runbook_url"' in orjson.dumps(schema).decode()
    body = (
        "apiVersion: portal.io/v1\nkind: Service\nmetadata: {name: ledger, team: payments}\n"
        f"spec:\n  runbook_url: {RUNBOOK}\n"
    )
    response = api(member).generic("POST", "/api/v1/specs/apply/", body.encode(), content_type="application/yaml")
    assert response.status_code == 201, response.content
    assert Service.objects.get(name="ledger").runbook_url == RUNBOOK


def test_the_service_form_carries_the_runbook_url():
    flat = flat_from_document({"name": "ledger", "team": "payments", "runbook_url": RUNBOOK})
    assert flat["runbook_url"] == RUNBOOK
    assert document_from_flat({**flat, "runbook_url": f"  {RUNBOOK} "})["runbook_url"] == RUNBOOK


def test_the_alerts_runbook_link_leads_to_the_runbook(client, api, member):
    api(member).post("/api/v1/services/", {"name": "ledger", "team": "payments"}, format="json")
    client.force_login(member)
    response = client.get("/services/ledger/runbook")  # as the alerts link it, without the slash
    assert response.status_code == 301 and response["Location"] == "/services/ledger/runbook/"
    response = client.get("/services/ledger/runbook/", follow=True)
    assert response.redirect_chain == [("/services/ledger/", 302)]
    assert "ledger has no runbook URL yet" in response.content.decode()
    Service.objects.filter(name="ledger").update(runbook_url=RUNBOOK)
    response = client.get("/services/ledger/runbook/")
    assert response.status_code == 302 and response["Location"] == RUNBOOK
    assert client.get("/services/nothing/runbook/").status_code == 404


def test_the_alerts_dashboard_link_leads_to_the_grafana_dashboard(client, api, member):
    api(member).post("/api/v1/services/", WITH_DASHBOARD, format="json")
    client.force_login(member)
    response = client.get("/services/ledger/dashboard")  # as the alerts link it, without the slash
    assert response.status_code == 301 and response["Location"] == "/services/ledger/dashboard/"
    grafana = PlatformSettings.load().grafana_url
    response = client.get("/services/ledger/dashboard/")
    assert response.status_code == 302 and response["Location"] == f"{grafana}/d/{dashboard_uid('ledger')}"
    page = client.get("/services/ledger/").content.decode()
    assert 'href="/services/ledger/dashboard/">open in Grafana' in page
    api(member).patch("/api/v1/services/ledger/", {"telemetry": {"dashboard": False}}, format="json")
    response = client.get("/services/ledger/dashboard/", follow=True)
    assert response.redirect_chain == [("/services/ledger/", 302)]
    assert "ledger has no dashboard" in response.content.decode()
    assert client.get("/services/nothing/dashboard/").status_code == 404


def test_the_dashboard_the_link_names_is_the_one_rendered(api, member):
    """The uid in the redirect is the uid of the dashboard ConfigMap the service gets."""
    api(member).post("/api/v1/services/", WITH_DASHBOARD, format="json")
    (configmap,) = build_dashboard(load_service("ledger"), platform_snapshot())
    model = orjson.loads(configmap.body["data"]["ledger.json"])
    assert model["uid"] == dashboard_uid("ledger")
