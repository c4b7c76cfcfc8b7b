"""On-call schedules through the API: the DESIGN.md §5 document, validation, now/?at= across DST, the feed."""

import copy
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from portal.catalog.api.serializers import ServiceSerializer
from portal.catalog.models import Membership, Team
from portal.catalog.services import create_service
from portal.oncall.current import OnCallNow, oncall_pair
from portal.oncall.models import Override, Rotation, RotationMember, Schedule
from portal.oncall.tasks import refresh_routing, refresh_routing_at
from portal.users.models import User
from provisioning.choices import RunAction, RunStatus
from provisioning.models import Plan, ProvisioningRun

URL = "/api/v1/teams/payments/oncall/"
NOW_URL = URL + "now/"
FEED_URL = "/api/v1/teams/payments/oncall.ics"
TOKEN_URL = URL + "feed-token/"

# DESIGN.md §5, verbatim.
PAYLOAD = {
    "time_zone": "Asia/Tokyo",
    "rotations": [
        {"role": "incident_commander", "members": ["alice", "bob"], "shift_hours": 168, "start": "2026-11-23T10:00:00"},
        {"role": "resolver", "members": ["carol", "dave"], "shift_hours": 168, "start": "2026-11-23T10:00:00"},
    ],
    "overrides": [
        {
            "role": "incident_commander",
            "member": "bob",
            "start": "2026-12-01T00:00:00+09:00",
            "end": "2026-12-02T00:00:00+09:00",
        }
    ],
}

# 24h incident-commander shifts and weekly resolver shifts handing off at 09:00 New York time, across the
# 2026 spring-forward (8 March) and fall-back (1 November) changes.
NEW_YORK = {
    "time_zone": "America/New_York",
    "rotations": [
        {"role": "incident_commander", "members": ["alice", "bob"], "shift_hours": 24, "start": "2026-03-01T09:00:00"},
        {"role": "resolver", "members": ["carol", "dave"], "shift_hours": 168, "start": "2026-03-02T09:00:00"},
    ],
    "overrides": [],
}


def payload(**changes) -> dict:
    document = copy.deepcopy(PAYLOAD)
    document.update(changes)
    return document


@pytest.fixture
def people(team):
    """alice..dave in payments; erin in another team; sam an SRE in no team."""
    users = {name: User.objects.create(username=name) for name in ("alice", "bob", "carol", "dave", "erin", "sam")}
    for name in ("alice", "bob", "carol", "dave"):
        Membership.objects.create(team=team, user=users[name], role="owner" if name == "alice" else "member")
    search = Team.objects.create(slug="search", name="Search")
    Membership.objects.create(team=search, user=users["erin"])
    users["sam"].is_sre = True
    users["sam"].save()
    return users


def client_for(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def alice(people) -> APIClient:
    return client_for(people["alice"])


@pytest.fixture
def scheduled(alice):
    response = alice.put(URL, PAYLOAD, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def put_new_york(client: APIClient) -> None:
    response = client.put(URL, NEW_YORK, format="json")
    assert response.status_code == 201, response.json()


def now_at(client: APIClient, at: str) -> dict:
    response = client.get(NOW_URL, {"at": at})
    assert response.status_code == 200, response.json()
    return response.json()


def holder(username: str, since: str, until: str, override: bool = False) -> dict:
    return {"username": username, "since": since, "until": until, "override": override}


# --- the document ------------------------------------------------------------------------------------------


def test_put_then_get_round_trips_the_design_payload(alice, scheduled):
    for document in (scheduled, alice.get(URL).json()):
        assert {key: document[key] for key in PAYLOAD} == PAYLOAD
        assert document["team"] == "payments"
        assert document["revision"] == 1
        assert document["feed_token_set"] is False


def test_rows_hold_wall_time_ordered_members_and_aware_overrides(scheduled):
    row = Schedule.objects.get(team__slug="payments")
    rotation = row.rotations.get(role="incident_commander")
    assert rotation.start == datetime(2026, 11, 23, 10, 0)
    assert [m.user.username for m in rotation.members.all()] == ["alice", "bob"]
    override = row.overrides.get()
    assert override.start == datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def test_a_second_put_replaces_everything_and_bumps_the_revision(alice, scheduled):
    changed = payload(overrides=[])
    changed["rotations"][0]["members"] = ["bob", "alice"]
    response = alice.put(URL, changed, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["revision"] == 2
    assert response.json()["rotations"][0]["members"] == ["bob", "alice"]
    assert response.json()["overrides"] == []
    assert Override.objects.count() == 0
    assert Rotation.objects.count() == 2
    assert RotationMember.objects.count() == 4


def test_a_start_with_an_offset_is_stored_as_wall_time_in_the_schedule_zone(alice, people):
    document = payload()
    document["rotations"][0]["start"] = "2026-11-23T01:00:00Z"
    response = alice.put(URL, document, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["rotations"][0]["start"] == "2026-11-23T10:00:00"


def test_a_stale_revision_is_refused_with_409(alice, scheduled):
    assert alice.put(URL, payload(revision=1), format="json").status_code == 200
    response = alice.put(URL, payload(revision=1), format="json")
    assert response.status_code == 409
    assert Schedule.objects.get().revision == 2


# --- validation: 400, fields named like the pure module's paths, nothing saved --------------------------------


def assert_refused(client: APIClient, document: dict, errors: dict) -> None:
    before = [
        (Schedule.objects.count(), Rotation.objects.count(), RotationMember.objects.count(), Override.objects.count())
    ]
    response = client.put(URL, document, format="json")
    assert response.status_code == 400
    assert response.json() == errors
    after = [
        (Schedule.objects.count(), Rotation.objects.count(), RotationMember.objects.count(), Override.objects.count())
    ]
    assert after == before


def test_members_must_belong_to_the_team(alice, people):
    document = payload()
    document["rotations"][1]["members"] = ["carol", "erin", "nobody"]
    document["overrides"][0]["member"] = "erin"
    assert_refused(
        alice,
        document,
        {
            "rotations": {
                "1": {"members": ["'erin' is not a member of the team.", "'nobody' is not a member of the team."]}
            },
            "overrides": {"0": {"member": ["'erin' is not a member of the team."]}},
        },
    )
    assert not Schedule.objects.exists()


def test_overlapping_overrides_of_one_role_are_refused_and_the_old_schedule_stays(alice, scheduled):
    document = payload()
    document["overrides"].append(
        {
            "role": "incident_commander",
            "member": "alice",
            "start": "2026-12-01T12:00:00+09:00",
            "end": "2026-12-03T00:00:00+09:00",
        }
    )
    assert_refused(
        alice,
        document,
        {"overrides": {"1": {"non_field_errors": ["Overrides 0 and 1 overlap for incident_commander."]}}},
    )
    assert alice.get(URL).json()["revision"] == 1


def test_overrides_of_different_roles_may_overlap(alice, people):
    document = payload()
    document["overrides"].append({**document["overrides"][0], "role": "resolver", "member": "carol"})
    assert alice.put(URL, document, format="json").status_code == 201


def test_type_errors_and_rule_errors_share_one_shape(alice, people):
    document = payload(time_zone="Mars/Olympus_Mons")
    document["rotations"][1]["shift_hours"] = "weekly"
    document["rotations"][0]["start"] = "next monday"
    assert_refused(
        alice,
        document,
        {
            "rotations": {
                "0": {"start": ["Enter an ISO 8601 date and time, e.g. 2026-11-23T10:00:00+09:00."]},
                "1": {"shift_hours": ["A valid integer is required."]},
            }
        },
    )
    assert_refused(
        alice,
        payload(time_zone="Mars/Olympus_Mons"),
        {"time_zone": ["'Mars/Olympus_Mons' is not an IANA time zone name."]},
    )


def test_each_role_needs_one_rotation_and_overrides_need_offsets(alice, people):
    document = payload()
    document["rotations"][1]["role"] = "incident_commander"
    document["rotations"][1]["shift_hours"] = 0
    document["overrides"][0]["end"] = "2026-12-02T00:00:00"
    assert_refused(
        alice,
        document,
        {
            "rotations": {
                "1": {
                    "role": ["A rotation for incident_commander already exists (rotations.0)."],
                    "shift_hours": ["Shift length must be a whole number of hours from 1 to 672."],
                },
                "non_field_errors": ["A rotation for resolver is required."],
            },
            "overrides": {"0": {"end": ["Include a UTC offset."]}},
        },
    )


def test_a_missing_document_part_is_named(alice, people):
    assert_refused(alice, {"time_zone": "UTC"}, {"rotations": ["This field is required."]})


# --- who is on call ------------------------------------------------------------------------------------------


def test_now_answers_the_design_example_with_the_rotation_rule(alice, scheduled):
    # DESIGN.md's example says carol; by the rotation rule the resolver's second week is dave's.
    assert now_at(alice, "2026-12-01T12:00:00+09:00") == {
        "at": "2026-12-01T12:00:00+09:00",
        "time_zone": "Asia/Tokyo",
        "incident_commander": holder("bob", "2026-12-01T00:00:00+09:00", "2026-12-02T00:00:00+09:00", True),
        "resolver": holder("dave", "2026-11-30T10:00:00+09:00", "2026-12-07T10:00:00+09:00"),
    }


def test_now_accepts_an_unencoded_plus_and_wall_time_in_the_schedule_zone(alice, scheduled):
    assert alice.get(NOW_URL + "?at=2026-12-01T12:00:00+09:00").json()["incident_commander"]["username"] == "bob"
    answer = now_at(alice, "2026-12-02T09:00:00")
    assert answer["at"] == "2026-12-02T09:00:00+09:00"
    # bob's own week resumes where the override ends: a separate piece, not an override.
    assert answer["incident_commander"] == holder("bob", "2026-12-02T00:00:00+09:00", "2026-12-07T10:00:00+09:00")


def test_before_the_rotations_start_no_one_is_on_call(alice, scheduled):
    assert now_at(alice, "2026-11-01T00:00:00Z") == {
        "at": "2026-11-01T09:00:00+09:00",
        "time_zone": "Asia/Tokyo",
        "incident_commander": None,
        "resolver": None,
    }


def test_now_without_at_is_now_and_a_bad_at_is_a_field_error(alice, scheduled):
    answer = alice.get(NOW_URL).json()
    assert abs(datetime.fromisoformat(answer["at"]) - timezone.now()) < timedelta(minutes=1)
    response = alice.get(NOW_URL, {"at": "yesterday"})
    assert response.status_code == 400
    assert list(response.json()) == ["at"]


@pytest.mark.parametrize(
    ("at", "incident_commander", "resolver"),
    [
        # Saturday 09:30 EST: alice's shift began at 09:00 EST and, spanning the change, lasts 23 hours.
        (
            "2026-03-07T14:30:00Z",
            holder("alice", "2026-03-07T09:00:00-05:00", "2026-03-08T09:00:00-04:00"),
            holder("carol", "2026-03-02T09:00:00-05:00", "2026-03-09T09:00:00-04:00"),
        ),
        # 02:30 does not exist on 8 March: wall time in the gap means the end of the gap, 03:00 EDT.
        (
            "2026-03-08T02:30:00",
            holder("alice", "2026-03-07T09:00:00-05:00", "2026-03-08T09:00:00-04:00"),
            holder("carol", "2026-03-02T09:00:00-05:00", "2026-03-09T09:00:00-04:00"),
        ),
        # 08:30 EDT is 12:30 UTC: still alice, although 24 hours after her 09:00 EST start would end at 10:00 EDT.
        (
            "2026-03-08T08:30:00-04:00",
            holder("alice", "2026-03-07T09:00:00-05:00", "2026-03-08T09:00:00-04:00"),
            holder("carol", "2026-03-02T09:00:00-05:00", "2026-03-09T09:00:00-04:00"),
        ),
        # 09:30 EDT: the handoff followed the wall clock, bob has it.
        (
            "2026-03-08T09:30:00-04:00",
            holder("bob", "2026-03-08T09:00:00-04:00", "2026-03-09T09:00:00-04:00"),
            holder("carol", "2026-03-02T09:00:00-05:00", "2026-03-09T09:00:00-04:00"),
        ),
        # The resolver's first week was 167 hours long; dave's starts at 09:00 EDT.
        (
            "2026-03-09T09:00:00-04:00",
            holder("alice", "2026-03-09T09:00:00-04:00", "2026-03-10T09:00:00-04:00"),
            holder("dave", "2026-03-09T09:00:00-04:00", "2026-03-16T09:00:00-04:00"),
        ),
        # Fall back: the shift of 31 October lasts 25 hours, until 09:00 EST.
        (
            "2026-11-01T08:30:00-05:00",
            holder("alice", "2026-10-31T09:00:00-04:00", "2026-11-01T09:00:00-05:00"),
            holder("carol", "2026-10-26T09:00:00-04:00", "2026-11-02T09:00:00-05:00"),
        ),
    ],
    ids=["before-change", "in-the-gap", "after-change-before-handoff", "after-handoff", "resolver-handoff", "fall"],
)
def test_now_follows_wall_time_across_new_york_dst(alice, people, at, incident_commander, resolver):
    put_new_york(alice)
    answer = now_at(alice, at)
    assert (answer["incident_commander"], answer["resolver"]) == (incident_commander, resolver)
    assert answer["time_zone"] == "America/New_York"


def test_oncall_pair_reads_the_stored_schedule(team, alice, scheduled):
    assert oncall_pair(team, datetime(2026, 12, 1, 3, 0, tzinfo=UTC)) == OnCallNow("bob", "dave")
    assert oncall_pair(team, datetime(2026, 11, 24, 3, 0, tzinfo=UTC)) == OnCallNow("alice", "carol")
    assert oncall_pair(Team.objects.get(slug="search"), datetime(2026, 12, 1, tzinfo=UTC)) == OnCallNow()


# --- permissions ------------------------------------------------------------------------------------------------


def test_anonymous_callers_are_refused(scheduled):
    anonymous = client_for()
    for url in (URL, NOW_URL, FEED_URL, TOKEN_URL):
        assert anonymous.get(url).status_code == 401
    assert anonymous.put(URL, PAYLOAD, format="json").status_code == 401


def test_another_team_reads_but_cannot_change(people, scheduled):
    erin = client_for(people["erin"])
    assert erin.get(URL).status_code == 200
    assert erin.get(NOW_URL).status_code == 200
    assert erin.get(FEED_URL).status_code == 200
    assert erin.put(URL, payload(overrides=[]), format="json").status_code == 403
    assert erin.post(TOKEN_URL).status_code == 403
    assert Schedule.objects.get().revision == 1


@pytest.mark.parametrize("who", ["bob", "sam"], ids=["team-member", "sre"])
def test_team_members_and_sres_change_the_schedule(people, scheduled, who):
    response = client_for(people[who]).put(URL, payload(overrides=[]), format="json")
    assert response.status_code == 200, response.json()
    assert Schedule.objects.get().updated_by == people[who]


def test_unknown_team_and_missing_schedule_are_404(people):
    sam = client_for(people["sam"])
    assert sam.get("/api/v1/teams/nope/oncall/").status_code == 404
    assert sam.put("/api/v1/teams/nope/oncall/", PAYLOAD, format="json").status_code == 404
    response = sam.get(URL)
    assert response.status_code == 404
    assert "no on-call schedule" in response.json()["detail"]


# --- iCalendar feed --------------------------------------------------------------------------------------------


@pytest.fixture
def current_schedule(alice):
    """A schedule whose shifts surround the real now, so the feed's window holds some."""
    start = (timezone.now() - timedelta(days=3)).astimezone(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    document = {
        "time_zone": "UTC",
        "rotations": [
            {"role": "incident_commander", "members": ["alice", "bob"], "shift_hours": 24, "start": start.isoformat()},
            {"role": "resolver", "members": ["carol", "dave"], "shift_hours": 168, "start": start.isoformat()},
        ],
    }
    assert alice.put(URL, document, format="json").status_code == 201
    return start


def events(body: bytes) -> list:
    calendar = icalendar.Calendar.from_ical(body)
    return list(calendar.walk("VEVENT"))


def test_signed_in_users_get_the_feed(alice, current_schedule):
    response = alice.get(FEED_URL, HTTP_ACCEPT="text/calendar")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    found = events(response.content)
    first = min(found, key=lambda e: (e.decoded("dtstart"), str(e["summary"])))
    assert first.decoded("dtstart") == current_schedule
    assert str(first["summary"]) == "payments incident commander: alice"
    assert {str(e["summary"]) for e in found} >= {
        "payments incident commander: bob",
        "payments resolver: carol",
        "payments resolver: dave",
    }


def test_the_feed_token_opens_the_feed_without_a_session(alice, current_schedule):
    issued = alice.post(TOKEN_URL)
    assert issued.status_code == 201
    token = issued.json()["token"]
    assert issued.json()["url"] == f"{settings.PORTAL_PUBLIC_URL.rstrip('/')}{FEED_URL}?token={token}"
    row = Schedule.objects.get()
    assert row.feed_token_hash and token not in row.feed_token_hash
    assert alice.get(URL).json()["feed_token_set"] is True

    calendar_app = client_for()
    response = calendar_app.get(FEED_URL, {"token": token})
    assert response.status_code == 200
    assert events(response.content)

    assert calendar_app.get(FEED_URL, {"token": token + "x"}).status_code == 404
    assert calendar_app.get("/api/v1/teams/search/oncall.ics", {"token": token}).status_code == 404
    assert calendar_app.get(FEED_URL).status_code == 401


def test_a_new_token_replaces_the_old_and_delete_turns_the_feed_off(alice, current_schedule):
    first = alice.post(TOKEN_URL).json()["token"]
    second = alice.post(TOKEN_URL).json()["token"]
    calendar_app = client_for()
    assert calendar_app.get(FEED_URL, {"token": first}).status_code == 404
    assert calendar_app.get(FEED_URL, {"token": second}).status_code == 200
    assert alice.delete(TOKEN_URL).status_code == 204
    assert calendar_app.get(FEED_URL, {"token": second}).status_code == 404
    assert Schedule.objects.get().has_feed_token is False


# --- handoffs re-render the alert routing ---------------------------------------------------------------------


def register_service(name: str) -> None:
    serializer = ServiceSerializer(data={"name": name, "team": "payments"})
    serializer.is_valid(raise_exception=True)
    create_service(serializer.validated_data)


def test_refresh_routing_applies_the_team_services_once_per_handoff(alice, scheduled):
    register_service("payments-api")
    register_service("payments-worker")
    monday = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # alice and carol

    assert refresh_routing_at(monday) == {"requested": 2, "failed": 0}
    runs = ProvisioningRun.objects.filter(action=RunAction.APPLY, status=RunStatus.QUEUED)
    assert sorted(runs.values_list("service__name", flat=True)) == ["payments-api", "payments-worker"]
    row = Schedule.objects.get()
    assert (row.routed_incident_commander, row.routed_resolver, row.routed_at) == ("alice", "carol", monday)

    assert refresh_routing_at(monday + timedelta(hours=1))["requested"] == 0  # same pair: nothing to do
    # After bob's override begins the pair changes; the queued runs will render it, so nothing new is asked.
    assert refresh_routing_at(datetime(2026, 12, 1, 3, 0, tzinfo=UTC))["requested"] == 0
    assert ProvisioningRun.objects.count() == 2
    row.refresh_from_db()
    assert (row.routed_incident_commander, row.routed_resolver) == ("bob", "dave")


def working(name: str, status: str, named: tuple[str, str] | None) -> ProvisioningRun:
    """The service's queued run as a worker holds it: planning, or applying a plan whose snapshot names
    ``named`` on call."""
    run = ProvisioningRun.objects.get(service__name=name, status__in=[RunStatus.QUEUED, status])
    if named is not None:
        oncall = {"incident_commander": named[0], "resolver": named[1]}
        run.plan = Plan.objects.create(scope=run.scope, fingerprint="f" * 64, snapshot={"oncall": oncall})
    run.status = status
    run.save(update_fields=["status", "plan"])
    return run


@pytest.mark.parametrize(
    ("status", "named"), [(RunStatus.APPLYING, ("alice", "carol")), (RunStatus.PLANNING, None)], ids=str
)
def test_a_handoff_during_a_run_that_writes_the_old_pair_is_retried(alice, scheduled, status, named):
    register_service("payments-api")
    register_service("payments-worker")
    monday = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # alice and carol
    assert refresh_routing_at(monday)["requested"] == 2
    busy = working("payments-api", status, named)
    ProvisioningRun.objects.filter(service__name="payments-worker").update(status=RunStatus.SUCCEEDED)

    # bob's override begins while payments-api's worker holds the desired state it built before it.
    handoff = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    assert refresh_routing_at(handoff) == {"requested": 1, "failed": 0}
    row = Schedule.objects.get()
    assert (row.routed_incident_commander, row.routed_resolver, row.routed_at) == ("alice", "carol", monday)

    # Next beat, same run still busy: asked again, still unrecorded (payments-worker's new run is queued, so it
    # will render bob and dave: not busy).
    assert refresh_routing_at(handoff + timedelta(minutes=5)) == {"requested": 0, "failed": 0}
    assert Schedule.objects.get().routed_incident_commander == "alice"

    ProvisioningRun.objects.filter(pk=busy.pk).update(status=RunStatus.SUCCEEDED)
    later = handoff + timedelta(minutes=10)
    assert refresh_routing_at(later) == {"requested": 1, "failed": 0}
    row.refresh_from_db()
    assert (row.routed_incident_commander, row.routed_resolver, row.routed_at) == ("bob", "dave", later)
    assert ProvisioningRun.objects.filter(service__name="payments-api", status=RunStatus.QUEUED).count() == 1


def test_a_run_applying_a_plan_that_names_the_new_pair_is_not_waited_for(alice, scheduled):
    register_service("payments-api")
    monday = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    refresh_routing_at(monday)
    ProvisioningRun.objects.update(status=RunStatus.SUCCEEDED)
    handoff = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    refresh_routing_at(handoff)  # bob and dave: a new run, planned after the hand-over
    working("payments-api", RunStatus.APPLYING, ("bob", "dave"))
    Schedule.objects.update(routed_incident_commander="alice", routed_resolver="carol")  # as if not yet recorded
    assert refresh_routing_at(handoff + timedelta(minutes=5)) == {"requested": 0, "failed": 0}
    assert Schedule.objects.get().routed_incident_commander == "bob"


def test_refresh_routing_is_a_named_late_acking_beat_task():
    assert refresh_routing.name == "oncall.refresh_routing"
    assert refresh_routing.acks_late is True
    assert settings.CELERY_BEAT_SCHEDULE["oncall-refresh-routing"] == {
        "task": "oncall.refresh_routing",
        "schedule": 300,
    }
