"""A team with four members, two per on-call role, and its service ``ledger`` meeting every rule."""

import pytest

from portal.catalog.models import Membership, Service
from portal.users.models import User

from .world import GOLD, make_ready, register, rotate


@pytest.fixture
def people(team):
    """Four members of team payments, two per on-call role."""
    users = [User.objects.create(username=n) for n in ("alice", "bob", "carol", "dave")]
    for user in users:
        Membership.objects.create(team=team, user=user, role="member")
    rotate(team, "incident_commander", ["alice", "bob"])
    rotate(team, "resolver", ["carol", "dave"])
    return users


@pytest.fixture
def slack(platform):
    platform.slack_webhook_url = "https://hooks.slack.com/services/T0/B0/platform"
    platform.save()
    return platform


@pytest.fixture
def gold(team, people, platform) -> Service:
    """Service ``ledger`` of team payments, meeting every rule."""
    return make_ready(register("ledger", **GOLD))
