"""Incident webhooks: only https, never into private, loopback or link-local networks (SSRF), unless allowed
for development."""

import pytest

from portal.catalog.api.serializers import TeamSerializer
from portal.catalog.models import Team


def attempt(url: str):
    serializer = TeamSerializer(data={"slug": "payments", "name": "Payments", "incident_webhook_url": url})
    return serializer.is_valid(), serializer.errors


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",  # not https
        "https://127.0.0.1/hook",  # loopback
        "https://[::1]/hook",
        "https://10.0.0.5/hook",  # private
        "https://192.168.1.10/hook",
        "https://169.254.169.254/latest/meta-data/",  # link-local: the instance metadata service
        "https://localhost/hook",
        "https://metadata.google.internal/hook",
        "https://vault.local/hook",
        "https://intranet/hook",  # a bare name resolves inside the network
        "https://user:pass@hooks.example.com/x",
        "ftp://hooks.example.com/x",
    ],
)
def test_unsafe_webhook_urls_are_refused_naming_the_field(db, url):
    valid, errors = attempt(url)
    assert not valid
    assert "incident_webhook_url" in errors
    assert not Team.objects.exists()


def test_a_public_https_webhook_is_accepted(db):
    valid, errors = attempt("https://hooks.example.com/services/T0/B0/x")
    assert valid, errors


def test_development_may_allow_private_addresses(db, settings):
    settings.PORTAL_ALLOW_PRIVATE_WEBHOOKS = True
    valid, errors = attempt("https://10.0.0.5/hook")
    assert valid, errors
    assert not attempt("http://10.0.0.5/hook")[0], "https stays required"
