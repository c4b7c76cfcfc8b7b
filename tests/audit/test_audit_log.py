"""The audit log: every catalog change, approval, run and token creation; append-only; SREs read it."""

import csv
import io

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from rest_framework.test import APIClient

from portal.audit.models import AuditEvent
from portal.catalog.models import Membership
from portal.users.models import User


@pytest.fixture
def people(team):
    alice = User.objects.create(username="alice")
    Membership.objects.create(team=team, user=alice, role="owner")
    sam = User.objects.create(username="sam", is_sre=True)
    return alice, sam


def client(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_a_service_change_is_recorded_with_who_before_and_after(people, platform):
    alice, _ = people
    api = client(alice)
    assert api.post("/api/v1/services/", {"name": "ledger", "team": "payments"}, format="json").status_code == 201
    assert (
        api.patch("/api/v1/services/ledger/", {"traffic": {"load_balancer": "random"}}, format="json").status_code
        == 200
    )
    created, updated = AuditEvent.objects.filter(object_type="service").order_by("id")
    assert (created.action, created.actor_name, created.before) == ("service.create", "alice", None)
    assert created.source == "api" and created.team == "payments"
    assert updated.action == "service.update"
    assert updated.before["traffic"]["load_balancer"] == "round_robin"
    assert updated.after["traffic"]["load_balancer"] == "random"
    assert updated.after["revision"] == 2


def test_secrets_are_recorded_as_changed_never_in_clear(people):
    alice, _ = people
    secrets = {
        "incident_webhook_url": "https://hooks.example.com/new-secret",
        "incident_alertmanager_token": "new-secret-token",
        "incident_sns_url": "https://hooks.example.com/sns/new-secret",
        "slack_webhook_url": "https://hooks.slack.com/services/T0/B0/new-secret",
    }
    response = client(alice).patch("/api/v1/teams/payments/", secrets, format="json")
    assert response.status_code == 200, response.content
    event = AuditEvent.objects.get(action="team.update")
    for field in ("incident_alertmanager_url", "incident_alertmanager_token", "incident_sns_url", "slack_webhook_url"):
        assert event.after[field] == "(secret)"
    assert "new-secret" not in str(event.before) + str(event.after)


def test_approvals_runs_and_tokens_are_recorded(people, platform, settings, tmp_path):
    settings.PORTAL_GITOPS_DIR = tmp_path / "gitops"
    alice, sam = people
    api = client(alice)
    api.post(
        "/api/v1/services/",
        {"name": "shop", "team": "payments", "exposure": {"level": "external", "hostnames": ["shop.example.com"]}},
        format="json",
    )
    run = api.post("/api/v1/services/shop/apply/", {}, format="json").json()
    client(sam).post(f"/api/v1/approvals/{run['id']}/approve/")
    call_command("create_api_token", "ci-bot", "--team", "payments", stdout=io.StringIO())
    actions = list(AuditEvent.objects.order_by("id").values_list("action", "actor_name"))
    assert ("run.request", "alice") in actions
    assert ("run.approve", "sam") in actions
    assert ("token.create", "") in actions
    assert any(a == "membership.create" for a, _ in actions)


def test_the_log_is_append_only(people):
    event = AuditEvent.objects.first()
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.update(detail="rewritten")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_postgresql_refuses_to_rewrite_the_log_even_in_raw_sql(people):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET detail = 'rewritten'")


def test_only_sres_read_filter_and_export(people):
    alice, sam = people
    assert client(alice).get("/api/v1/audit/").status_code == 403
    listed = client(sam).get("/api/v1/audit/?action=membership").json()["results"]
    assert listed and all(e["action"].startswith("membership") for e in listed)
    export = client(sam).get("/api/v1/audit/export/?team=payments")
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert rows[0][:3] == ["at", "actor", "action"] and len(rows) > 1


def test_instants_a_database_cannot_store_are_a_400_not_a_500(people):
    _, sam = people
    response = client(sam).get("/api/v1/audit/?since=0184-04-13T06:51:29-18:36")
    assert response.status_code == 400
    assert "since" in response.json()
