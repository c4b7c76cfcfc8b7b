"""Scorecards of 30 services across 10 teams cost the same number of queries as those of 3 across 1: the rules read
facts loaded once for all (run outcomes annotated, plans, teams, schedules, the platform's Slack webhook)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.catalog.models import Membership, Team
from portal.scorecards.cards import scorecards
from portal.users.models import User

from .world import GOLD, make_ready, register, rotate

pytestmark = pytest.mark.django_db

URLS = (
    "/api/v1/scorecards/",
    "/api/v1/scorecards/?failing=runbook&sort=-passed",
    "/api/v1/scorecards/?expand=rules&sort=team",
    "/api/v1/team-scorecards/",
    "/api/v1/scorecard-rules/",
    "/scorecards/",
    "/scorecards/?level=gold&sort=team",
    "/services/svc-0-0/",
    "/teams/team-0/",
)


def add_teams(start: int, count: int) -> None:
    """``count`` teams, each with two members on call in both roles and three services that have been applied."""
    for t in range(start, start + count):
        team = Team.objects.create(slug=f"team-{t}", name=f"Team {t}", slack_channel=f"#team-{t}")
        people = [User.objects.create(username=f"u{t}-{i}") for i in range(2)]
        for user in people:
            Membership.objects.create(team=team, user=user)
        rotate(team, "incident_commander", [u.username for u in people])
        rotate(team, "resolver", [u.username for u in reversed(people)])
        for s in range(3):
            make_ready(register(f"svc-{t}-{s}", team=team.slug, **{**GOLD, "tier": 1 + s}))


def count(call) -> int:
    with CaptureQueriesContext(connection) as queries:
        call()
    return len(queries)


def test_computing_every_scorecard_costs_the_same_queries_for_3_or_30_services(platform):
    add_teams(0, 1)
    small = count(lambda: scorecards())
    add_teams(1, 9)
    large = count(lambda: scorecards())
    assert len(scorecards()) == 30
    # the cards due, the eight queries that compute them, their two upserts in one transaction (a savepoint and its
    # release here), the stored cards
    assert small == large <= 14, (small, large)


def test_pages_and_api_cost_the_same_queries_for_3_or_30_services(client, platform, django_assert_max_num_queries):
    client.force_login(User.objects.create(username="reader"))
    client.get("/")  # the session is warm for both measurements

    def measure() -> list[int]:
        scorecards()  # every card stored: what the pages read between changes
        counts = []
        for url in URLS:
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            assert response.status_code == 200, (url, response.content[:300])
            counts.append(len(queries))
        return counts

    add_teams(0, 1)
    small = measure()
    add_teams(1, 9)
    large = measure()
    assert small == large, dict(zip(URLS, zip(small, large, strict=True), strict=True))
    with django_assert_max_num_queries(max(small)):
        client.get("/scorecards/")
