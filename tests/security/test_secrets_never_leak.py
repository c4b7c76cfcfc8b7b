"""A stored webhook secret (a team's incident webhook and Slack webhook, the platform's Slack webhook) never appears
in an API answer, a page, a log line, a run's log, a stored plan, the inventory, the audit log or the gitops repository;
not in plain text, not percent-encoded, not base64-encoded. The secrets carry recognisable tokens; the test
exercises everything that reads, renders, plans and applies them (through the gitops target and the AWS
sandbox) with every logger at DEBUG, then looks for the tokens everywhere."""

import base64
import io
import json
import logging
import subprocess
from urllib.parse import quote, quote_plus

import pytest
from django.contrib import admin
from django.core import serializers
from django.test import Client
from rest_framework.authtoken.models import Token

from portal.audit.models import AuditEvent
from portal.catalog.models import Membership, PlatformSettings, Team
from portal.core.logfilters import RedactSecrets
from portal.notify.events import enqueue as notify_enqueue
from portal.users.models import User
from provisioning.models import ManagedResource, Plan, ProvisioningRun, RunLogEntry, RunStep
from provisioning.runs.lifecycle import finish
from tests.engine.conftest import run_task

WEBHOOK = "https://hooks.example.com/services/T0CANARY/B0CANARY/incident-canary-7e1d0c5a"
SLACK = "https://hooks.slack.com/services/T1CANARY/B1CANARY/slack-canary-4b9f2a61"
NEW_WEBHOOK = "https://hooks.example.com/services/T2CANARY/B2CANARY/rotated-canary-90ab13ce"
TOKEN = "bearer-canary-5c3e8d21f07a"
SNS = "https://hooks.example.com/sns/T3CANARY/B3CANARY/sns-canary-2d7f60b4"
TEAM_SLACK = "https://hooks.slack.com/services/T4CANARY/B4CANARY/team-slack-canary-81c4e7d9"
SECRETS = (WEBHOOK, SLACK, NEW_WEBHOOK, TOKEN, SNS, TEAM_SLACK)


def _base64_cores(text: str) -> set[str]:
    """What base64 of any text holding ``text`` contains, whatever its offset: the middle of each alignment."""
    cores = set()
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * shift + text.encode()).decode().rstrip("=")
            cores.add(encoded[4:-4])
    return cores


def giveaways(secret: str) -> set[str]:
    """The secret's path and token, as they would show in text, a URL-encoded body, JSON or base64."""
    if "://" not in secret:  # a bare token
        return {secret, quote(secret, safe=""), json.dumps(secret)[1:-1]} | _base64_cores(secret)
    path = secret.split("://", 1)[1].split("/", 1)[1]  # "services/T0.../B0.../token"
    token = path.rsplit("/", 1)[1]
    forms = {secret, path, token, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}
    return forms | _base64_cores(secret) | _base64_cores(path)


GIVEAWAYS = sorted(set().union(*(giveaways(s) for s in SECRETS)), key=len, reverse=True)


class Leaks:
    def __init__(self) -> None:
        self.found: list[str] = []

    def check(self, where: str, text: str | bytes) -> None:
        if isinstance(text, bytes):
            text = text.decode(errors="replace")
        self.found += [f"{where}: {g!r}" for g in GIVEAWAYS if g in text]

    def response(self, where: str, response) -> None:
        assert response.status_code < 400, (where, response.status_code, response.content[:300])
        body = b"".join(response.streaming_content) if response.streaming else response.content
        self.check(where, body)
        self.check(f"{where} (headers)", str(dict(response.headers)))


@pytest.fixture
def debug_log():
    """What the portal's log handlers write, with every logger at DEBUG."""
    stream = io.StringIO()
    root = logging.getLogger()
    handlers = [h for h in root.handlers if any(isinstance(f, RedactSecrets) for f in h.filters)]
    assert handlers, "the portal's LOGGING writes through a handler that hides secrets"
    saved = [(h, h.setStream(stream), h.level) for h in handlers]
    loggers = [root, *(logging.getLogger(n) for n in list(logging.root.manager.loggerDict))]
    levels = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    for h in handlers:
        h.setLevel(logging.DEBUG)
    yield stream
    for lg, level in levels:
        lg.setLevel(level)
    for handler, previous, level in saved:
        handler.setStream(previous)
        handler.setLevel(level)


@pytest.fixture
def gitops(settings, tmp_path):
    settings.PORTAL_GITOPS_DIR = tmp_path / "gitops"
    settings.PORTAL_GITOPS_REMOTE = ""
    return tmp_path / "gitops"


@pytest.mark.django_db
def test_a_stored_webhook_secret_never_leaks(debug_log, gitops, django_capture_on_commit_callbacks):
    capture_on_commit = django_capture_on_commit_callbacks
    leaks = Leaks()
    owner = User.objects.create_user("olivia", password="olivia-password-123")
    sre = User.objects.create_user("sam", password="sam-password-123", is_sre=True)
    other_sre = User.objects.create_user("sasha", password="sasha-password-123", is_sre=True)
    outsider = User.objects.create_user("bea", password="bea-password-123")
    api = {
        u.username: Client(headers={"Authorization": f"Token {Token.objects.create(user=u).key}"})
        for u in (owner, sre, outsider)
    }
    pages = {}
    for user in (owner, sre, outsider):
        pages[user.username] = Client()
        pages[user.username].force_login(user)

    # The secrets arrive through the API, as automation sends them.
    response = api["sam"].patch(
        "/api/v1/platform/settings/", {"slack_webhook_url": SLACK}, content_type="application/json"
    )
    leaks.response("PATCH platform settings", response)
    response = api["olivia"].post(
        "/api/v1/teams/",
        {
            "slug": "leaky",
            "name": "Leaky",
            "slack_channel": "#leaky",
            "incident_webhook_url": WEBHOOK,
            "incident_alertmanager_token": TOKEN,
            "incident_sns_url": SNS,
            "slack_webhook_url": TEAM_SLACK,
        },
        content_type="application/json",
    )
    leaks.response("POST team", response)
    team = Team.objects.get(slug="leaky")
    assert (
        team.incident_alertmanager_url,
        team.incident_alertmanager_token,
        team.incident_sns_url,
        team.slack_webhook_url,
    ) == (WEBHOOK, TOKEN, SNS, TEAM_SLACK)
    assert PlatformSettings.load().slack_webhook_url == SLACK
    Membership.objects.get_or_create(team=team, user=owner, defaults={"role": "owner"})

    service = {"name": "ledger", "team": "leaky", "telemetry": {"slo": {"availability": 99.9}}}
    leaks.response("POST service", api["olivia"].post("/api/v1/services/", service, content_type="application/json"))

    # Plan (the receivers Secret is in it), apply through the gitops target and the AWS sandbox.
    response = api["olivia"].post("/api/v1/services/ledger/plan/")
    leaks.response("POST plan", response)
    assert any(c["kind"] == "Secret" for c in response.json()["changes"]), "the plan holds the receivers Secret"
    plan_id = response.json()["id"]
    response = api["olivia"].post("/api/v1/services/ledger/apply/", {"plan": plan_id}, content_type="application/json")
    leaks.response("POST apply", response)
    run = run_task(ProvisioningRun.objects.get(pk=response.json()["id"]))
    assert run.status == "succeeded", run.error
    secret_row = ManagedResource.objects.get(scope="service:ledger", kind="Secret")

    # The webhook changes: plan and apply again (a diff of a Secret's values), then the platform layer.
    response = api["olivia"].patch(
        "/api/v1/teams/leaky/", {"incident_webhook_url": NEW_WEBHOOK}, content_type="application/json"
    )
    leaks.response("PATCH team webhook", response)
    leaks.response("POST plan again", api["olivia"].post("/api/v1/services/ledger/plan/"))
    response = api["olivia"].post("/api/v1/services/ledger/apply/", {}, content_type="application/json")
    second = run_task(ProvisioningRun.objects.get(pk=response.json()["id"]))
    assert second.status == "succeeded", second.error
    leaks.response("GET platform manifests", api["sam"].get("/api/v1/platform/manifests/"))
    leaks.response("POST platform plan", api["sam"].post("/api/v1/platform/plan/"))

    # Everything that shows a team, a service, a plan, a run or the audit log, to its owner, an SRE and others.
    for who in ("olivia", "sam", "bea"):
        for url in (
            "/api/v1/teams/",
            "/api/v1/teams/leaky/",
            "/api/v1/teams/leaky/members/",
            "/api/v1/services/ledger/",
            "/api/v1/services/ledger/manifests/",
            "/api/v1/services/ledger/manifests/?provider=aws",
            "/api/v1/runs/",
            f"/api/v1/runs/{run.pk}/",
            f"/api/v1/runs/{second.pk}/",
            "/api/v1/platform/settings/",
        ):
            leaks.response(f"{who} GET {url}", api[who].get(url))
    for url in ("/api/v1/audit/", "/api/v1/audit/export/", "/api/schema/"):
        leaks.response(f"sam GET {url}", api["sam"].get(url))
    for who in ("olivia", "sam", "bea"):
        for url in (
            "/teams/leaky/",
            "/services/ledger/",
            "/services/ledger/manifests/",
            "/services/ledger/graph/",
            "/services/ledger/graph.svg",
            f"/plans/{plan_id}/",
            f"/runs/{run.pk}/",
            f"/runs/{second.pk}/",
            f"/runs/{run.pk}/progress/",
        ):
            leaks.response(f"{who} page {url}", pages[who].get(url))
    leaks.response("owner page /teams/leaky/edit/", pages["olivia"].get("/teams/leaky/edit/"))

    # The SREs' console: the team, the platform settings, the inventory (the Secret above all), runs and plans.
    sre_pages = pages["sam"]
    admin_urls = [
        f"/admin/catalog/team/{team.pk}/change/",
        "/admin/catalog/platformsettings/1/change/",
        f"/admin/provisioning/managedresource/{secret_row.pk}/change/",
        f"/admin/provisioning/provisioningrun/{run.pk}/change/",
        f"/admin/provisioning/provisioningrun/{second.pk}/change/",
        f"/admin/catalog/team/{team.pk}/history/",
        "/admin/catalog/platformsettings/1/history/",
    ]
    admin_urls += [f"/admin/provisioning/plan/{pk}/change/" for pk in Plan.objects.values_list("pk", flat=True)]
    admin_urls += [f"/admin/audit/auditevent/{pk}/change/" for pk in AuditEvent.objects.values_list("pk", flat=True)]
    admin_urls += [f"/admin/{m._meta.app_label}/{m._meta.model_name}/" for m in admin.site._registry]
    for url in admin_urls:
        leaks.response(f"admin {url}", sre_pages.get(url))

    # A failed run is posted to the team's Slack channel: the broker gets the team's id and the message, never the
    # webhook (the worker reads it when it posts).
    failing = ProvisioningRun.objects.create(
        scope="service:ledger", service_id=run.service_id, action="apply", status="planning", attempts=1
    )
    with capture_on_commit() as callbacks:
        finish(failing, "failed", "the ALB said no")
    sent = [c.args for c in callbacks if getattr(c, "func", None) is notify_enqueue]
    assert [team_id for team_id, _ in sent] == [team.pk]
    leaks.check("a notification's message to the broker", json.dumps(sent))

    # A second SRE approves nothing here, but what is stored must be as clean as what is shown.
    assert other_sre.pk
    for model in (Plan, ProvisioningRun, RunStep, RunLogEntry, ManagedResource, AuditEvent):
        leaks.check(f"stored {model.__name__} rows", serializers.serialize("json", model.objects.all()))
    assert RunLogEntry.objects.filter(run__in=[run, second]).count() > 3
    leaks.check(
        "the gitops repository's history",
        subprocess.run(["git", "log", "-p", "--all"], cwd=gitops, capture_output=True, text=True, check=True).stdout,
    )
    leaks.check("the log", debug_log.getvalue())
    assert "provisioning." in debug_log.getvalue(), "the log was captured"

    assert not leaks.found, "secrets leaked:\n  " + "\n  ".join(leaks.found)
