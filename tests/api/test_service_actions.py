"""Plan, apply, approvals, runs, manifests and optimistic concurrency through the REST API."""

import pytest

from portal.catalog.models import Service
from provisioning.models import ProvisioningRun

pytestmark = pytest.mark.usefixtures("platform", "gitops")


def create(client, **data):
    response = client.post("/api/v1/services/", {"team": "payments", **data}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_plan_lists_changes_with_a_field_level_diff(api, member):
    client = api(member)
    create(client, name="ledger")
    response = client.post("/api/v1/services/ledger/plan/")
    assert response.status_code == 200, response.content
    plan = response.json()
    assert set(plan) >= {"id", "service", "created_at", "summary", "changes"}
    assert plan["service"] == "ledger"
    assert plan["summary"]["create"] == len([c for c in plan["changes"] if c["action"] == "create"]) > 0
    change = next(c for c in plan["changes"] if c["kind"] == "DestinationRule")
    assert change["provider"] == "kubernetes" and change["namespace"] == "ledger"
    assert {"path": "spec.trafficPolicy.loadBalancer.simple", "old": None, "new": "ROUND_ROBIN"} in change["diff"]


def test_apply_answers_202_with_a_queued_run_and_a_second_one_409(api, member):
    client = api(member)
    create(client, name="ledger")
    first = client.post("/api/v1/services/ledger/apply/", {}, format="json")
    assert first.status_code == 202, first.content
    run = first.json()
    assert run["status"] == "queued" and run["action"] == "apply" and run["requested_by"] == "alice"
    assert set(run) >= {
        "id",
        "service",
        "action",
        "status",
        "plan",
        "steps",
        "requested_by",
        "created_at",
        "finished_at",
    }
    second = client.post("/api/v1/services/ledger/apply/", {}, format="json")
    assert second.status_code == 409
    assert f"run #{run['id']}" in second.json()["detail"]


def test_external_exposure_waits_for_an_sre_who_is_not_the_requester(api, member, sre):
    client = api(member)
    create(client, name="shop", exposure={"level": "external", "hostnames": ["shop.example.com"]})
    response = client.post("/api/v1/services/shop/apply/", {}, format="json")
    assert response.status_code == 202
    run = response.json()
    assert run["status"] == "awaiting_approval"
    assert run["plan"]["requires_approval"] and "internet" in run["plan"]["approval_reasons"][0]

    assert client.post(f"/api/v1/approvals/{run['id']}/approve/").status_code == 403
    listed = api(sre).get("/api/v1/approvals/").json()["results"]
    assert [r["id"] for r in listed] == [run["id"]]
    approved = api(sre).post(f"/api/v1/approvals/{run['id']}/approve/")
    assert approved.status_code == 202
    assert approved.json()["status"] == "queued" and approved.json()["approved_by"] == "sam"


def test_an_sre_cannot_approve_their_own_change(api, sre, team):
    client = api(sre)
    create(client, name="shop", exposure={"level": "external", "hostnames": ["shop.example.com"]})
    run = client.post("/api/v1/services/shop/apply/", {}, format="json").json()
    response = client.post(f"/api/v1/approvals/{run['id']}/approve/")
    assert response.status_code == 403
    assert "cannot approve their own" in response.json()["detail"]


def test_rejecting_needs_a_reason_the_requester_sees(api, member, sre):
    client = api(member)
    create(client, name="shop", exposure={"level": "external", "hostnames": ["shop.example.com"]})
    run = client.post("/api/v1/services/shop/apply/", {}, format="json").json()
    assert api(sre).post(f"/api/v1/approvals/{run['id']}/reject/", {}, format="json").status_code == 400
    response = api(sre).post(f"/api/v1/approvals/{run['id']}/reject/", {"reason": "use internal"}, format="json")
    assert response.status_code == 200
    seen = client.get(f"/api/v1/runs/{run['id']}/").json()
    assert seen["status"] == "cancelled" and seen["rejection_reason"] == "use internal"


def test_a_stale_write_is_refused_with_409(api, member):
    client = api(member)
    create(client, name="ledger")
    read = client.get("/api/v1/services/ledger/")
    tag = read["ETag"]
    assert (
        client.patch("/api/v1/services/ledger/", {"description": "one"}, format="json", HTTP_IF_MATCH=tag).status_code
        == 200
    )
    stale = client.patch("/api/v1/services/ledger/", {"description": "two"}, format="json", HTTP_IF_MATCH=tag)
    assert stale.status_code == 409
    assert Service.objects.get(name="ledger").description == "one"


def test_patch_merges_nested_objects(api, member):
    client = api(member)
    create(client, name="ledger", traffic={"timeout_seconds": 5})
    response = client.patch("/api/v1/services/ledger/", {"traffic": {"load_balancer": "random"}}, format="json")
    assert response.status_code == 200, response.json()
    traffic = response.json()["traffic"]
    assert traffic["load_balancer"] == "random" and traffic["timeout_seconds"] == 5


def test_nested_field_errors_are_nested(api, member):
    client = api(member)
    response = client.post(
        "/api/v1/services/",
        {"name": "ledger", "team": "payments", "telemetry": {"log_retention_days": 2}},
        format="json",
    )
    assert response.status_code == 400
    assert "log_retention_days" in response.json()["telemetry"]


def test_manifests_are_yaml_with_secret_values_hidden(api, member, team):
    client = api(member)
    create(client, name="ledger")
    response = client.get("/api/v1/services/ledger/manifests/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/yaml")
    text = response.content.decode()
    assert "kind: DestinationRule" in text
    assert "hooks.example.com" not in text


def test_delete_queues_a_destroy_and_marks_the_service(api, member):
    client = api(member)
    create(client, name="ledger")
    response = client.delete("/api/v1/services/ledger/")
    assert response.status_code == 202
    assert response.json()["action"] == "destroy"
    assert Service.objects.get(name="ledger").state == "deleting"


def test_runs_filter_by_service_and_detail_has_the_log(api, member):
    client = api(member)
    create(client, name="ledger")
    create(client, name="orders")
    run = client.post("/api/v1/services/ledger/apply/", {}, format="json").json()
    client.post("/api/v1/services/orders/apply/", {}, format="json")
    listed = client.get("/api/v1/runs/?service=ledger").json()["results"]
    assert [r["id"] for r in listed] == [run["id"]]
    detail = client.get(f"/api/v1/runs/{run['id']}/").json()
    assert detail["log"][0]["event"] == "provisioning.run.requested"


def test_outsiders_can_read_but_not_act(api, member, outsider):
    create(api(member), name="ledger")
    client = api(outsider)
    assert client.get("/api/v1/services/ledger/").status_code == 200
    assert client.post("/api/v1/services/ledger/apply/", {}, format="json").status_code == 403
    assert client.patch("/api/v1/services/ledger/", {"description": "x"}, format="json").status_code == 403
    assert client.delete("/api/v1/services/ledger/").status_code == 403
    response = client.post("/api/v1/services/", {"name": "x", "team": "payments"}, format="json")
    assert response.status_code == 403
    assert not ProvisioningRun.objects.exists()


def test_aws_manifests_name_each_resource(api, member):
    client = api(member)
    create(client, name="ledger")
    text = client.get("/api/v1/services/ledger/manifests/?provider=aws").content.decode()
    assert "kind: logs.LogGroup" in text and "name: /eks/sandbox/payments/ledger" in text
    assert client.get("/api/v1/services/ledger/manifests/?provider=gcp").status_code == 400
