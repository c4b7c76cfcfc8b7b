"""Shared fixtures. Real servers on loopback wherever one exists."""

import pytest

from portal.catalog.models import PlatformSettings, Team

pytest_plugins = ["tests.k8sdouble.fixtures"]


@pytest.fixture
def platform(db):
    return PlatformSettings.load()


@pytest.fixture
def team(db):
    return Team.objects.create(
        slug="payments",
        name="Payments",
        slack_channel="#payments-alerts",
        incident_webhook_url="https://hooks.example.com/services/T0/B0/x",
        sso_group="payments",
    )
