"""Dates far from today are refused where they come in, naming the field; a schedule stored before that rule (or
broken any other way) never stops the routing refresh of the other teams."""

import logging
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from portal.catalog.api.serializers import ServiceSerializer
from portal.catalog.models import Membership, Team
from portal.catalog.services import create_service
from portal.oncall.models import Rotation, RotationMember, Schedule
from portal.oncall.tasks import refresh_routing_at
from portal.users.models import User
from provisioning.models import ProvisioningRun

from .test_models_api import NOW_URL, URL, payload

FEED_URL = URL.removesuffix("/") + ".ics"
FAR = "Dates must lie within 10 years of today"


@pytest.fixture
def people(team):
    """alice and bob, carol and dave in payments; erin in search."""
    users = {name: User.objects.create(username=name) for name in ("alice", "bob", "carol", "dave", "erin")}
    for name in ("alice", "bob", "carol", "dave"):
        Membership.objects.create(team=team, user=users[name])
    Membership.objects.create(team=Team.objects.create(slug="search", name="Search"), user=users["erin"])
    return users


@pytest.fixture
def alice(people) -> APIClient:
    client = APIClient()
    client.force_authenticate(people["alice"])
    return client


def refused(response, *path: str) -> list[str]:
    assert response.status_code == 400, response.content
    node = response.json()
    for key in path:
        node = node[key]
    return node


def test_a_rotation_starting_at_the_end_of_the_calendar_is_refused_naming_the_field(alice):
    document = payload()
    document["rotations"][0]["start"] = "9999-12-31T23:00:00"
    messages = refused(alice.put(URL, document, format="json"), "rotations", "0", "start")
    assert messages[0].startswith(FAR)
    assert not Schedule.objects.exists()


def test_an_override_ending_at_the_end_of_the_calendar_is_refused_naming_the_field(alice):
    document = payload()
    document["overrides"][0]["end"] = "9999-12-31T23:00:00+00:00"
    assert refused(alice.put(URL, document, format="json"), "overrides", "0", "end")[0].startswith(FAR)


def test_dates_long_past_are_refused_too(alice):
    document = payload()
    document["rotations"][1]["start"] = "0001-01-01T00:00:00"
    document["overrides"][0]["start"] = "0001-01-01T00:00:00+09:00"
    response = alice.put(URL, document, format="json")
    assert refused(response, "rotations", "1", "start")[0].startswith(FAR)
    assert refused(response, "overrides", "0", "start")[0].startswith(FAR)


def test_dates_within_the_window_are_accepted_and_every_page_answers(alice, people, client):
    soon = (timezone.now() + timedelta(days=365 * 9)).replace(microsecond=0)
    document = payload()
    document["rotations"][0]["start"] = soon.replace(tzinfo=None).isoformat()
    document["overrides"][0]["end"] = soon.isoformat()
    assert alice.put(URL, document, format="json").status_code == 201
    assert alice.get(NOW_URL).status_code == 200
    assert alice.get(FEED_URL).status_code == 200
    client.force_login(people["alice"])
    assert client.get("/oncall/").status_code == 200
    assert client.get("/teams/payments/oncall/").status_code == 200


def test_a_far_instant_in_at_is_a_field_error(alice):
    assert alice.put(URL, payload(), format="json").status_code == 201
    for at in ("9999-12-31T23:00:00", "0001-01-01T00:00:00+14:00"):
        assert refused(alice.get(NOW_URL, {"at": at}), "at")[0].startswith(FAR)


# --- the routing refresh goes on past a broken schedule ---------------------------------------------------------


def schedule_for(team: Team, members: list, start: datetime) -> Schedule:
    """A schedule written straight to the database, as one stored before today's rules could be."""
    row = Schedule.objects.create(team=team, time_zone="UTC")
    for role in ("incident_commander", "resolver"):
        rotation = Rotation.objects.create(
            schedule=row, role=role, shift_hours=24, start_date=start.date(), handoff_time=start.time()
        )
        for position, user in enumerate(members):
            RotationMember.objects.create(rotation=rotation, user=user, position=position)
    return row


def test_one_broken_schedule_does_not_stop_the_refresh_for_the_others(people, caplog):
    search = Team.objects.get(slug="search")
    erin = people["erin"]
    serializer = ServiceSerializer(data={"name": "search-api", "team": "search"})
    serializer.is_valid(raise_exception=True)
    create_service(serializer.validated_data)
    # payments sorts first: its rotation starts in the calendar's last hour, where its next handoff overflows.
    schedule_for(Team.objects.get(slug="payments"), [people["alice"]], datetime.combine(date(9999, 12, 31), time(23)))
    schedule_for(search, [erin], datetime(2026, 1, 1, 9, 0))

    with caplog.at_level(logging.ERROR, logger="portal.oncall"):
        outcome = refresh_routing_at(datetime(2026, 6, 1, tzinfo=UTC))

    assert outcome == {"requested": 1, "failed": 1}
    assert list(ProvisioningRun.objects.values_list("service__name", flat=True)) == ["search-api"]
    assert Schedule.objects.get(team__slug="search").routed_incident_commander == "erin"
    assert Schedule.objects.get(team__slug="payments").routed_at is None  # tried again at the next beat
    failures = [r for r in caplog.records if r.getMessage() == "oncall.routing.failed"]
    assert [r.team for r in failures] == ["payments"] and failures[0].exc_info
