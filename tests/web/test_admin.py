"""The SRE admin: signs in through the portal's SSO, shows every model, runs the operations as actions."""

import pytest
from django.contrib.admin.models import LogEntry

from provisioning.choices import RunAction, RunStatus
from provisioning.models import ManagedResource, Plan, ProvisioningRun, RunLogEntry, RunStep
from provisioning.scopes import service_key

from .conftest import register

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_the_admin_has_no_password_form_of_its_own(client, sre):
    response = client.get("/admin/login/?next=/admin/provisioning/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Fprovisioning%2F"
    response = client.post("/admin/login/", {"username": "sam", "password": "sam-password-123"})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    assert "_auth_user_id" not in client.session
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/login/?next=%2Fadmin%2F"
    response = client.get("/admin/login/?next=https://evil.example.com/")
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"


def test_signing_in_through_the_portal_leads_back_to_the_admin(client, sre):
    response = client.post("/accounts/login/?next=/admin/", {"login": "sam", "password": "sam-password-123"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_people_who_are_not_sres_are_told_the_admin_is_not_for_them(client_for, member):
    response = client_for(member).get("/admin/", follow=True)
    assert response.status_code == 403
    assert "The admin is the platform SREs&#x27; console" in response.content.decode()


@pytest.fixture
def run(service, member):
    return ProvisioningRun.objects.create(
        scope=service_key("ledger"), service=service, action=RunAction.APPLY, requested_by=member
    )


@pytest.fixture
def history(service, member):
    """A finished run with its plan, steps, log lines and inventory."""
    plan = Plan.objects.create(
        scope=service_key("ledger"),
        service=service,
        fingerprint="f" * 64,
        summary={"create": 1, "update": 0, "delete": 0, "unchanged": 0},
        changes=[
            {
                "action": "create",
                "provider": "kubernetes",
                "kind": "Namespace",
                "namespace": "",
                "name": "ledger",
                "diff": [{"path": "metadata.name", "old": None, "new": "ledger"}],
            },
        ],
    )
    finished = ProvisioningRun.objects.create(
        scope=service_key("ledger"),
        service=service,
        action=RunAction.APPLY,
        status=RunStatus.FAILED,
        plan=plan,
        requested_by=member,
        error="apply failed",
    )
    RunStep.objects.create(
        run=finished,
        position=0,
        key="k",
        provider="kubernetes",
        kind="Namespace",
        name="ledger",
        action="create",
        status="failed",
        error="forbidden: namespaces is forbidden",
    )
    RunLogEntry.objects.create(run=finished, event="provisioning.step.failed", message="forbidden", level="error")
    ManagedResource.objects.create(
        scope=service_key("ledger"),
        service=service,
        key="kubernetes|v1|Secret|ledger|ledger-receivers",
        provider="kubernetes",
        api_version="v1",
        kind="Secret",
        namespace="ledger",
        name="ledger-receivers",
        applied_digest="d",
        applied_body={"kind": "Secret", "data": {"slack": "c2VjcmV0LXZhbHVl"}},
        status="drifted",
        drift=[{"path": "data.slack", "old": "b2xk", "new": "c2VjcmV0LXZhbHVl"}],
    )
    return finished


def test_every_model_has_a_list_with_filters_and_search(client_for, sre, history):
    client = client_for(sre)
    for model in (
        "provisioning/plan",
        "provisioning/provisioningrun",
        "provisioning/runstep",
        "provisioning/runlogentry",
        "provisioning/managedresource",
        "catalog/service",
        "catalog/team",
        "catalog/membership",
        "catalog/exposure",
        "catalog/traffic",
        "catalog/telemetry",
        "catalog/platformsettings",
    ):
        response = client.get(f"/admin/{model}/?q=ledger")
        assert response.status_code == 200, model
    page = client.get("/admin/provisioning/provisioningrun/").content.decode()
    assert 'id="changelist-filter"' in page and "By status" in page
    assert 'class="badge status-failed"' in page
    # The parts of a service are edited as one document (portal form, API), never one by one here.
    page = client.get(f"/admin/catalog/exposure/{history.service_id}/change/").content.decode()
    assert 'name="_save"' not in page and "/services/ledger/edit/" in page


def test_a_plan_reads_as_a_diff_and_a_run_shows_its_steps_and_log(client_for, sre, history):
    client = client_for(sre)
    page = client.get(f"/admin/provisioning/plan/{history.plan_id}/change/").content.decode()
    assert 'class="badge status-create"' in page and "Namespace ledger" in page and "metadata.name" in page
    assert "portal/status.css" in page
    assert 'name="_save"' not in page  # read-only
    page = client.get(f"/admin/provisioning/provisioningrun/{history.pk}/change/").content.decode()
    assert "forbidden: namespaces is forbidden" in page  # the step
    assert "provisioning.step.failed" in page  # the log
    assert f"/plan/{history.plan_id}/change/" in page


def test_inventory_hides_secret_values(client_for, sre, history):
    resource = ManagedResource.objects.get()
    page = client_for(sre).get(f"/admin/provisioning/managedresource/{resource.pk}/change/").content.decode()
    assert "c2VjcmV0LXZhbHVl" not in page and "b2xk" not in page
    assert "data.slack" in page and "slack:" in page


def post_action(client, model: str, action: str, objects) -> list[str]:
    response = client.post(
        f"/admin/{model}/",
        {"action": action, "_selected_action": [o.pk for o in objects], "index": 0},
        follow=True,
    )
    assert response.status_code == 200
    return messages_of(response)


def test_approve_action_reports_each_run(client_for, sre, other_sre, team, platform):
    mine = register(name="mine")
    theirs = register(name="theirs")
    runs = [
        ProvisioningRun.objects.create(
            scope=service_key(s.name),
            service=s,
            action=RunAction.APPLY,
            status=RunStatus.AWAITING_APPROVAL,
            requested_by=who,
        )
        for s, who in ((mine, sre), (theirs, other_sre))
    ]
    messages = post_action(client_for(sre), "provisioning/provisioningrun", "approve", runs)
    assert sorted(messages) == [
        f"Run #{runs[0].pk} (mine): not approved: the requester cannot approve their own change; ask another SRE.",
        f"Run #{runs[1].pk} (theirs): approved; queued for a worker, which plans again before applying",
    ]
    statuses = dict(ProvisioningRun.objects.values_list("pk", "status"))
    assert statuses == {runs[0].pk: RunStatus.AWAITING_APPROVAL, runs[1].pk: RunStatus.QUEUED}
    assert LogEntry.objects.filter(object_id=str(runs[1].pk), change_message__contains="approved in the admin").exists()


def test_reapply_drift_check_and_cancel_actions(client_for, sre, run, service, team, platform):
    client = client_for(sre)
    idle = register(name="idle")
    messages = post_action(client, "catalog/service", "reapply", [service, idle])
    assert any("ledger: not re-applied: run #" in m and "is already in progress" in m for m in messages)
    assert any(m.startswith("idle: run #") and m.endswith("queued") for m in messages)

    messages = post_action(client, "provisioning/provisioningrun", "cancel_runs", [run])
    assert messages == [f"Run #{run.pk} (ledger): cancelled"]
    assert ProvisioningRun.objects.get(pk=run.pk).status == RunStatus.CANCELLED

    messages = post_action(client, "provisioning/provisioningrun", "drift_check", [run])
    assert len(messages) == 1 and messages[0].startswith("ledger: drift check #")
    check = ProvisioningRun.objects.get(action=RunAction.DRIFT_CHECK)
    assert check.requested_by == sre and check.status == RunStatus.QUEUED

    messages = post_action(client, "provisioning/provisioningrun", "cancel_runs", [run])
    assert messages == [f"Run #{run.pk} (ledger): not cancelled: run #{run.pk} has already finished (cancelled)."]


def test_editing_a_service_in_the_admin_follows_the_api_rules(client_for, sre, team, platform):
    service = register(name="ledger", traffic={"canary": {"version": "v2", "weight": 10}})
    client = client_for(sre)
    url = f"/admin/catalog/service/{service.pk}/change/"
    form = {
        "team": team.pk,
        "description": "",
        "lifecycle": "production",
        "tier": 2,
        "port": 8080,
        "protocol": "http",
    }  # mesh unticked
    response = client.post(url, form)
    assert response.status_code == 200
    assert "traffic.canary: canary needs the service in the mesh (mesh: true)." in response.content.decode()
    response = client.post(url, {**form, "mesh": "on"})
    assert response.status_code == 302
    service.refresh_from_db()
    assert (service.lifecycle, service.tier, service.revision) == ("production", 2, 2)
    assert service.traffic.canary == {"version": "v2", "weight": 10, "stable_version": "v1"}
    assert client.get("/admin/catalog/service/add/").status_code == 403


def test_the_admin_edits_a_services_runbook_url(client_for, sre, team, platform):
    service = register(name="ledger")
    url = f"/admin/catalog/service/{service.pk}/change/"
    form = {"team": team.pk, "description": "", "lifecycle": "production", "tier": 2, "port": 8080}
    form |= {"protocol": "http", "mesh": "on"}
    client = client_for(sre)
    response = client.post(url, {**form, "runbook_url": "ftp://wiki.example.com/ledger"})
    assert response.status_code == 200 and "runbook_url" in response.content.decode()
    service.refresh_from_db()
    assert service.runbook_url == ""
    response = client.post(url, {**form, "runbook_url": "https://wiki.example.com/ledger"})
    assert response.status_code == 302
    service.refresh_from_db()
    assert (service.runbook_url, service.revision) == ("https://wiki.example.com/ledger", 2)
