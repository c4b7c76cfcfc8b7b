import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from portal.catalog.models import Team
from portal.core import crypto


def _raw(team_id: int, column: str = "incident_alertmanager_url") -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM catalog_team WHERE id = %s", [team_id])  # noqa: S608 -- our columns
        return cursor.fetchone()[0]


@pytest.fixture
def team(team):
    """The shared team with every secret column set: its incident sources and its Slack webhook."""
    team.slack_webhook_url = "https://hooks.slack.com/services/T0/B0/x"
    team.save()
    return team


def test_incident_sources_are_encrypted_at_rest_and_masked(team):
    for column in Team.SECRET_FIELDS:
        raw = _raw(team.pk, column)
        assert "hooks." not in raw and "am-token" not in raw
    stored = Team.objects.get(pk=team.pk)
    assert stored.incident_alertmanager_url == "https://hooks.example.com/services/T0/B0/x"
    assert stored.incident_alertmanager_token == "am-token-x"
    assert stored.incident_sns_url == "https://hooks.example.com/sns/T0/B0/x"
    assert team.incident_alertmanager_masked == team.incident_sns_masked == "https://hooks.example.com/…"
    assert stored.slack_webhook_url == "https://hooks.slack.com/services/T0/B0/x"
    assert team.slack_webhook_masked == "https://hooks.slack.com/…"


def test_rotation_keeps_old_secrets_readable_and_reencrypts_under_the_new_key(team, settings):
    old_key = settings.PORTAL_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.PORTAL_ENCRYPTION_KEYS = [new_key, old_key]
    assert Team.objects.get(pk=team.pk).incident_alertmanager_url.endswith("/x")
    out = io.StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "re-encrypted 4 secret(s)" in out.getvalue()
    settings.PORTAL_ENCRYPTION_KEYS = [new_key]
    assert [crypto.decrypt(_raw(team.pk, column))[-1] for column in Team.SECRET_FIELDS] == ["x"] * 4
    assert Team.objects.get(pk=team.pk).incident_sns_url.endswith("/x")
