"""A team's Slack webhook as people set it: write-only and masked in the API, the team's page and form and the
admin, checked as an outbound URL (naming the field), removable, never in the audit log in clear."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from portal.audit.models import AuditEvent
from portal.catalog.choices import MembershipRole
from portal.catalog.models import Membership, Team
from portal.users.models import User

HOOK = "https://hooks.slack.com/services/T0SLACK/B0SLACK/team-hook-5e2a"


@pytest.fixture
def olivia(team) -> User:
    owner = User.objects.create(username="olivia")
    Membership.objects.create(team=team, user=owner, role=MembershipRole.OWNER)
    return owner


@pytest.fixture
def api(olivia) -> APIClient:
    client = APIClient()
    client.force_authenticate(olivia)
    return client


@pytest.fixture
def page(olivia) -> Client:
    client = Client()
    client.force_login(olivia)
    return client


def test_the_api_takes_the_webhook_and_reads_it_back_masked(api):
    response = api.patch("/api/v1/teams/payments/", {"slack_webhook_url": HOOK}, format="json")
    assert response.status_code == 200, response.content
    assert Team.objects.get(slug="payments").slack_webhook_url == HOOK
    body = api.get("/api/v1/teams/payments/").json()
    assert "slack_webhook_url" not in body
    assert body["slack_webhook_url_masked"] == "https://hooks.slack.com/…"
    assert "T0SLACK" not in str(body) and "team-hook" not in str(body)
    assert "T0SLACK" not in str(AuditEvent.objects.values_list("before", "after"))

    response = api.patch("/api/v1/teams/payments/", {"slack_webhook_url": ""}, format="json")
    assert response.status_code == 200
    assert Team.objects.get(slug="payments").slack_webhook_url == ""
    assert api.get("/api/v1/teams/payments/").json()["slack_webhook_url_masked"] == ""


@pytest.mark.parametrize(
    "url", ["http://hooks.slack.com/services/x", "https://169.254.169.254/latest/", "https://alertmanager.svc/x"]
)
def test_an_unsafe_url_is_refused_naming_the_field(api, settings, url):
    settings.PORTAL_ALLOW_PRIVATE_WEBHOOKS = False
    response = api.patch("/api/v1/teams/payments/", {"slack_webhook_url": url}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["slack_webhook_url"]
    assert Team.objects.get(slug="payments").slack_webhook_url == ""


def form(team: Team, **fields) -> dict:
    return {"name": team.name, "slack_channel": team.slack_channel, "revision": str(team.revision), **fields}


def test_the_team_form_sets_keeps_and_removes_the_webhook(page, team):
    response = page.post("/teams/payments/edit/", form(team, slack_webhook_url=HOOK))
    assert response.status_code == 302, response.content.decode()[:2000]
    team.refresh_from_db()
    assert team.slack_webhook_url == HOOK

    edit = page.get("/teams/payments/edit/").content.decode()
    assert 'name="slack_webhook_url"' in edit and "T0SLACK" not in edit
    shown = page.get("/teams/payments/").content.decode()
    assert "https://hooks.slack.com/…" in shown and "T0SLACK" not in shown

    page.post("/teams/payments/edit/", form(team))  # left empty: kept
    team.refresh_from_db()
    assert team.slack_webhook_url == HOOK
    page.post("/teams/payments/edit/", form(team, remove_slack_webhook="on"))
    team.refresh_from_db()
    assert team.slack_webhook_url == ""


def test_the_team_form_names_the_field_of_an_unsafe_url(page, team, settings):
    settings.PORTAL_ALLOW_PRIVATE_WEBHOOKS = False
    response = page.post("/teams/payments/edit/", form(team, slack_webhook_url="http://hooks.slack.com/x"))
    assert response.status_code == 200
    assert response.context["form"].errors["slack_webhook_url"]
    team.refresh_from_db()
    assert team.slack_webhook_url == ""


def test_the_admin_shows_the_webhook_masked_and_never_as_an_input(team):
    team.slack_webhook_url = HOOK
    team.save()
    sre = User.objects.create(username="sam", is_sre=True, is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(sre)
    html = client.get(f"/admin/catalog/team/{team.pk}/change/").content.decode()
    assert "https://hooks.slack.com/…" in html
    assert 'name="slack_webhook_url"' not in html and "T0SLACK" not in html
