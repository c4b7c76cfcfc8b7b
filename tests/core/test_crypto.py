import io

from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from portal.catalog.models import Team
from portal.core import crypto


def _raw_webhook(team_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT incident_webhook_url FROM catalog_team WHERE id = %s", [team_id])
        return cursor.fetchone()[0]


def test_webhook_urls_are_encrypted_at_rest_and_masked(team):
    raw = _raw_webhook(team.pk)
    assert "hooks.example.com" not in raw
    assert Team.objects.get(pk=team.pk).incident_webhook_url == "https://hooks.example.com/services/T0/B0/x"
    assert team.incident_webhook_masked == "https://hooks.example.com/…"


def test_rotation_keeps_old_secrets_readable_and_reencrypts_under_the_new_key(team, settings):
    old_key = settings.PORTAL_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.PORTAL_ENCRYPTION_KEYS = [new_key, old_key]
    assert Team.objects.get(pk=team.pk).incident_webhook_url.endswith("/x")
    call_command("rotate_encryption_keys", stdout=io.StringIO())
    settings.PORTAL_ENCRYPTION_KEYS = [new_key]
    assert crypto.decrypt(_raw_webhook(team.pk)).endswith("/x")
    assert Team.objects.get(pk=team.pk).incident_webhook_url.endswith("/x")
