"""The on-call pages: who is on call now, the next four weeks, and the calendar subscription link."""

from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from portal.catalog.models import Membership, Team
from portal.oncall import schedule as pure
from portal.oncall.views import calendar
from portal.users.models import User


@pytest.fixture
def people(team):
    users = {}
    for name in ("alice", "bob", "carol", "dave"):
        users[name] = User.objects.create(username=name)
        Membership.objects.create(team=team, user=users[name], role="member")
    return users


@pytest.fixture
def with_schedule(people, client):
    client.force_login(people["alice"])
    response = client.put(
        "/api/v1/teams/payments/oncall/",
        {
            "time_zone": "Asia/Tokyo",
            "rotations": [
                {
                    "role": "incident_commander",
                    "members": ["alice", "bob"],
                    "shift_hours": 24,
                    "start": "2026-01-01T10:00:00",
                },
                {"role": "resolver", "members": ["carol", "dave"], "shift_hours": 24, "start": "2026-01-01T10:00:00"},
            ],
            "overrides": [],
        },
        content_type="application/json",
    )
    assert response.status_code in (200, 201), response.content
    return client


def test_the_calendar_splits_days_at_the_handoffs_in_local_time():
    schedule = pure.Schedule(
        time_zone="Asia/Tokyo",
        rotations=(
            pure.Rotation("incident_commander", ("alice", "bob"), 24, datetime(2026, 11, 23, 10, 0)),
            pure.Rotation("resolver", ("carol", "dave"), 168, datetime(2026, 11, 23, 10, 0)),
        ),
    )
    days = calendar(schedule, datetime(2026, 11, 24, 3, 0, tzinfo=UTC), 28)
    assert len(days) == 28 and str(days[0].day) == "2026-11-24"
    first = [(p.username, p.start.strftime("%H:%M"), p.end.strftime("%H:%M")) for p in days[0].incident_commander]
    assert first == [("alice", "00:00", "10:00"), ("bob", "10:00", "00:00")]
    assert [p.username for p in days[0].resolver] == ["carol"]


def test_the_team_page_shows_now_four_weeks_and_the_feed(with_schedule):
    page = with_schedule.get("/teams/payments/oncall/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Incident commander (first responder)" in text and "The next four weeks" in text
    assert text.count('<th scope="row">') == 28
    assert "/api/v1/teams/payments/oncall.ics" in text


def test_a_member_creates_a_subscription_link_that_works_without_signing_in(with_schedule, client):
    page = with_schedule.post("/teams/payments/oncall/feed-link/")
    assert page.status_code == 200
    url = page.context["feed_url"]
    assert "?token=" in url
    client.logout()
    parts = urlsplit(url)
    feed = client.get(f"{parts.path}?{parts.query}")
    assert feed.status_code == 200 and feed.content.startswith(b"BEGIN:VCALENDAR")


def test_an_outsider_reads_but_cannot_create_the_link(with_schedule, client):
    Team.objects.create(slug="checkout", name="Checkout")
    client.force_login(User.objects.create(username="mallory"))
    assert client.get("/teams/payments/oncall/").status_code == 200
    assert client.post("/teams/payments/oncall/feed-link/").status_code == 403


def test_the_overview_lists_who_is_on_call_for_every_team(with_schedule):
    Team.objects.create(slug="checkout", name="Checkout")
    page = with_schedule.get("/oncall/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Payments" in text and "checkout" in text
