"""A team's two incident-tool sources: Alertmanager's (a URL and a bearer token) and CloudWatch/SNS's (a URL).
Both URLs get the outbound-URL checks, every value is write-only and read back masked, the former single field
``incident_webhook_url`` still sets the Alertmanager source, and the migration moves stored webhooks there."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.test import APIClient

from portal.catalog.api.serializers import TeamSerializer
from portal.catalog.choices import MembershipRole
from portal.catalog.models import Membership, Team
from portal.core import crypto
from portal.users.models import User

AM_URL = "https://api.incident.io/v2/alert_events/alertmanager/01HX"
SNS_URL = "https://api.incident.io/v2/alert_events/cloudwatch/01HY"


def serialize(data: dict, instance: Team | None = None) -> TeamSerializer:
    serializer = TeamSerializer(instance, data={"slug": "payments", "name": "Payments", **data}, partial=bool(instance))
    serializer.is_valid()
    return serializer


@pytest.mark.parametrize("field", ["incident_alertmanager_url", "incident_sns_url", "incident_webhook_url"])
@pytest.mark.parametrize("url", ["http://hooks.example.com/x", "https://169.254.169.254/latest/meta-data/"])
def test_both_source_urls_are_outbound_checked_naming_the_field(db, settings, field, url):
    settings.PORTAL_ALLOW_PRIVATE_WEBHOOKS = False
    assert list(serialize({field: url}).errors) == [field]


def test_the_former_field_sets_the_alertmanager_source(db):
    serializer = serialize({"incident_webhook_url": AM_URL, "incident_sns_url": SNS_URL})
    assert serializer.validated_data["incident_alertmanager_url"] == AM_URL
    assert "incident_webhook_url" not in serializer.validated_data
    team = serializer.save()
    assert (team.incident_alertmanager_url, team.incident_sns_url) == (AM_URL, SNS_URL)


def test_the_former_field_may_not_contradict_the_new_one(db):
    errors = serialize({"incident_webhook_url": AM_URL, "incident_alertmanager_url": SNS_URL}).errors
    assert list(errors) == ["incident_webhook_url"]


@pytest.mark.parametrize("token", ["two words", "line\nbreak", "ünïcode", "x" * 4097])
def test_a_token_that_would_break_the_authorization_header_is_refused(db, token):
    errors = serialize({"incident_alertmanager_url": AM_URL, "incident_alertmanager_token": token}).errors
    assert list(errors) == ["incident_alertmanager_token"]


def test_a_token_needs_its_source_url(db):
    assert list(serialize({"incident_alertmanager_token": "t0ken"}).errors) == ["incident_alertmanager_token"]
    team = serialize({"incident_alertmanager_url": AM_URL, "incident_alertmanager_token": "t0ken"}).save()
    assert list(serialize({"incident_alertmanager_url": ""}, team).errors) == ["incident_alertmanager_token"]
    cleared = serialize({"incident_alertmanager_url": "", "incident_alertmanager_token": ""}, team).save()
    assert (cleared.incident_alertmanager_url, cleared.incident_alertmanager_token) == ("", "")


def test_the_api_never_returns_a_source_in_full(db, owner_client):
    client, _ = owner_client
    response = client.patch(
        "/api/v1/teams/payments/",
        {
            "incident_alertmanager_url": AM_URL,
            "incident_alertmanager_token": "s3cret-t0ken",
            "incident_sns_url": SNS_URL,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = client.get("/api/v1/teams/payments/").json()
    text = str(body)
    assert "01HX" not in text and "01HY" not in text and "s3cret" not in text
    assert body["incident_alertmanager_url_masked"] == body["incident_sns_url_masked"] == "https://api.incident.io/…"
    assert body["incident_webhook_url_masked"] == body["incident_alertmanager_url_masked"]
    assert body["incident_alertmanager_token_set"] is True


@pytest.fixture
def owner_client(team) -> tuple[APIClient, Team]:
    owner = User.objects.create(username="olivia")
    Membership.objects.create(team=team, user=owner, role=MembershipRole.OWNER)
    client = APIClient()
    client.force_authenticate(owner)
    return client, team


@pytest.mark.django_db(transaction=True)
def test_the_migration_makes_the_former_webhook_the_alertmanager_source():
    executor = MigrationExecutor(connection)
    before, after = [("catalog", "0008_dns1123_label_validator")], [("catalog", "0009_team_incident_sources")]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("catalog", "Team")
    old.objects.create(slug="legacy", name="Legacy", incident_webhook_url=crypto.encrypt(AM_URL))
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    new = MigrationExecutor(connection).loader.project_state(after).apps.get_model("catalog", "Team")
    row = new.objects.get(slug="legacy")
    assert crypto.decrypt(row.incident_alertmanager_url) == AM_URL
    assert (row.incident_alertmanager_token, row.incident_sns_url) == ("", "")
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
