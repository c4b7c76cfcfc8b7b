"""Pure on-call schedule functions: properties over random schedules, then worked examples."""

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import icalendar
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.oncall.schedule import (
    Override,
    Role,
    Rotation,
    Schedule,
    Shift,
    next_shifts,
    on_call,
    parse_instant,
    parse_wall_time,
    shifts,
    shifts_between,
    to_ical,
    validate_schedule,
)

IC = Role.INCIDENT_COMMANDER
RESOLVER = Role.RESOLVER
TEAM = ("alice", "bob", "carol", "dave", "erin", "frank")
TOKYO = ZoneInfo("Asia/Tokyo")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# Dates of the 2026 daylight-saving changes, so random starts land just before, on and after them.
TRANSITION_DATES = {
    "America/New_York": [date(2026, 3, 8), date(2026, 11, 1)],
    "Europe/London": [date(2026, 3, 29), date(2026, 10, 25)],
    "Australia/Lord_Howe": [date(2026, 4, 5), date(2026, 10, 4)],
    "Asia/Tokyo": [date(2026, 3, 8), date(2026, 11, 1)],
    "UTC": [date(2026, 3, 29), date(2026, 10, 25)],
}
SHIFT_HOURS = (1, 5, 8, 12, 24, 72, 168)
ANY_SHIFT_HOURS = st.sampled_from(SHIFT_HOURS)

oncall_settings = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def wall_starts(draw: st.DrawFn, zone: str, hours: st.SearchStrategy[int] | None = None) -> datetime:
    """A naive local start within ten days before to two days after a DST change, on a 15-minute grid."""
    day = draw(st.sampled_from(TRANSITION_DATES[zone])) + timedelta(days=draw(st.integers(-10, 2)))
    hour = draw(hours if hours is not None else st.integers(0, 23))
    return datetime.combine(day, time(hour, draw(st.sampled_from([0, 15, 30, 45]))))


@st.composite
def rotations(draw: st.DrawFn, role: Role, zone: str, shift_hours: st.SearchStrategy[int], **start) -> Rotation:
    members = tuple(draw(st.lists(st.sampled_from(TEAM), min_size=1, max_size=5, unique=True)))
    return Rotation(role, members, draw(shift_hours), draw(wall_starts(zone, **start)))


@st.composite
def overrides_for(draw: st.DrawFn, role: Role, origin: datetime) -> list[Override]:
    """Up to three disjoint overrides around ``origin``, on a minute grid."""
    count = draw(st.integers(0, 3))
    minutes = sorted(
        draw(st.lists(st.integers(-2 * 1440, 40 * 1440), min_size=2 * count, max_size=2 * count, unique=True))
    )
    return [
        Override(role, draw(st.sampled_from(TEAM)), origin + timedelta(minutes=a), origin + timedelta(minutes=b))
        for a, b in zip(minutes[::2], minutes[1::2], strict=True)
    ]


@st.composite
def schedules(draw: st.DrawFn, shift_hours: st.SearchStrategy[int] = ANY_SHIFT_HOURS, **start) -> Schedule:
    zone = draw(st.sampled_from(sorted(TRANSITION_DATES)))
    rotation_list = [draw(rotations(role, zone, shift_hours, **start)) for role in Role]
    overrides = []
    for rotation in rotation_list:
        overrides += draw(overrides_for(rotation.role, parse_instant(rotation.start, zone)))
    return Schedule(zone, tuple(rotation_list), tuple(overrides))


def first_handoff(schedule: Schedule) -> datetime:
    return max(parse_instant(rotation.start, schedule.time_zone) for rotation in schedule.rotations)


later = st.integers(0, 45 * 86400).map(lambda seconds: timedelta(seconds=seconds))


# --- properties ----------------------------------------------------------------------------------


@oncall_settings
@given(schedule=schedules(), offset=later)
def test_every_instant_after_the_start_has_exactly_one_holder_per_role(schedule: Schedule, offset: timedelta) -> None:
    at = first_handoff(schedule) + offset
    for rotation in schedule.rotations:
        holder = on_call(schedule, rotation.role, at)
        assert holder is not None
        assert holder.start <= at < holder.end
        assert holder == shifts(schedule, rotation.role, at, 1)[0]
        # Its neighbours touch it on both sides, so no other piece can also hold ``at``.
        after = on_call(schedule, rotation.role, holder.end)
        assert after is not None and after.start == holder.end
        if holder.start > parse_instant(rotation.start, schedule.time_zone):
            before = on_call(schedule, rotation.role, holder.start - timedelta(microseconds=1))
            assert before is not None and before.end == holder.start


@oncall_settings
@given(schedule=schedules(), offset=later)
def test_an_override_wins_inside_it_and_the_rotation_outside(schedule: Schedule, offset: timedelta) -> None:
    at = first_handoff(schedule) + offset
    for rotation in schedule.rotations:
        holder = on_call(schedule, rotation.role, at)
        covering = [o for o in schedule.overrides if o.role == rotation.role and o.start <= at < o.end]
        if covering:
            (override,) = covering
            assert holder == Shift(override.member, override.start, override.end, rotation.role, is_override=True)
        else:
            assert holder is not None and not holder.is_override
            assert holder.member in rotation.members


@oncall_settings
@given(schedule=schedules(), offset=later)
def test_consecutive_shifts_are_contiguous(schedule: Schedule, offset: timedelta) -> None:
    listed = next_shifts(schedule, first_handoff(schedule) + offset, 25)
    for role in Role:
        pieces = listed[role]
        assert len(pieces) == 25
        assert all(piece.start < piece.end and piece.role == role for piece in pieces)
        assert all(a.end == b.start for a, b in pairwise(pieces))
        assert all(on_call(schedule, role, piece.start) == piece for piece in pieces)


@oncall_settings
@given(
    # Handoff hours outside 01:00-03:00 exist every day in these zones, so none gets moved by a gap.
    schedule=schedules(shift_hours=st.sampled_from([24, 72, 168]), hours=st.sampled_from([0, *range(3, 24)])),
)
def test_whole_day_shifts_hand_off_at_the_wall_clock_time_of_the_start(schedule: Schedule) -> None:
    zone = ZoneInfo(schedule.time_zone)
    plain = Schedule(schedule.time_zone, schedule.rotations)
    for rotation in schedule.rotations:
        pieces = shifts(plain, rotation.role, parse_instant(rotation.start, schedule.time_zone), 12)
        for k, piece in enumerate(pieces):
            assert piece.start.astimezone(zone).replace(tzinfo=None) == rotation.start + k * timedelta(
                hours=rotation.shift_hours
            )
            # A DST change stretches or shrinks the shift by that change, never more.
            assert abs(piece.end - piece.start - timedelta(hours=rotation.shift_hours)) <= timedelta(hours=1)
            assert piece.member == rotation.members[k % len(rotation.members)]


@oncall_settings
@given(schedule=schedules(), offset=later)
def test_every_handoff_is_on_the_wall_clock_grid_or_at_the_end_of_a_gap(schedule: Schedule, offset: timedelta) -> None:
    zone = ZoneInfo(schedule.time_zone)
    plain = Schedule(schedule.time_zone, schedule.rotations)
    for rotation in schedule.rotations:
        step = timedelta(hours=rotation.shift_hours)
        for piece in shifts(plain, rotation.role, first_handoff(schedule) + offset, 10):
            wall = piece.start.astimezone(zone).replace(tzinfo=None)
            at_transition = (piece.start - timedelta(seconds=1)).astimezone(zone).utcoffset() != wall.replace(
                tzinfo=zone
            ).utcoffset()
            assert (wall - rotation.start) % step == timedelta(0) or at_transition


@oncall_settings
@given(schedule=schedules(), offset=st.integers(1, 30 * 86400).map(lambda s: timedelta(seconds=s)))
def test_before_the_start_only_overrides_hold_a_role(schedule: Schedule, offset: timedelta) -> None:
    for rotation in schedule.rotations:
        at = parse_instant(rotation.start, schedule.time_zone) - offset
        holder = on_call(schedule, rotation.role, at)
        covering = [o for o in schedule.overrides if o.role == rotation.role and o.start <= at < o.end]
        assert (holder is not None) == bool(covering)


# --- worked examples -----------------------------------------------------------------------------


@pytest.fixture
def payments() -> Schedule:
    """The payload example of DESIGN.md §5."""
    return Schedule(
        time_zone="Asia/Tokyo",
        rotations=(
            Rotation(IC, ("alice", "bob"), 168, parse_wall_time("2026-11-23T10:00:00", "Asia/Tokyo")),
            Rotation(RESOLVER, ("carol", "dave"), 168, parse_wall_time("2026-11-23T10:00:00", "Asia/Tokyo")),
        ),
        overrides=(
            Override(
                IC,
                "bob",
                datetime.fromisoformat("2026-12-01T00:00:00+09:00"),
                datetime.fromisoformat("2026-12-02T00:00:00+09:00"),
            ),
        ),
    )


def test_design_example_who_is_on_call(payments: Schedule) -> None:
    at = datetime.fromisoformat("2026-12-01T12:00:00+09:00")
    # bob already holds the second week; the override still wins inside its own hours.
    assert on_call(payments, IC, at) == Shift(
        "bob", datetime(2026, 12, 1, tzinfo=TOKYO), datetime(2026, 12, 2, tzinfo=TOKYO), IC, is_override=True
    )
    assert on_call(payments, RESOLVER, at) == Shift(
        "dave", datetime(2026, 11, 30, 10, tzinfo=TOKYO), datetime(2026, 12, 7, 10, tzinfo=TOKYO), RESOLVER
    )


def test_design_example_override_splits_the_regular_shift(payments: Schedule) -> None:
    pieces = shifts(payments, IC, datetime(2026, 11, 24, tzinfo=TOKYO), 5)
    assert [(p.member, p.start.astimezone(TOKYO).isoformat(), p.is_override) for p in pieces] == [
        ("alice", "2026-11-23T10:00:00+09:00", False),
        ("bob", "2026-11-30T10:00:00+09:00", False),
        ("bob", "2026-12-01T00:00:00+09:00", True),
        ("bob", "2026-12-02T00:00:00+09:00", False),
        ("alice", "2026-12-07T10:00:00+09:00", False),
    ]
    assert pieces[-1].end == datetime(2026, 12, 14, 10, tzinfo=TOKYO)
    # Until the override, bob's regular piece ends where the override starts.
    assert on_call(payments, IC, datetime(2026, 11, 30, 20, tzinfo=TOKYO)).end == datetime(2026, 12, 1, tzinfo=TOKYO)


def test_no_one_is_on_call_before_the_start(payments: Schedule) -> None:
    before = datetime(2026, 11, 23, 9, 59, tzinfo=TOKYO)
    assert on_call(payments, IC, before) is None
    assert shifts(payments, IC, before, 1)[0].start == datetime(2026, 11, 23, 10, tzinfo=TOKYO)
    early = Override(RESOLVER, "alice", datetime(2026, 11, 20, tzinfo=TOKYO), datetime(2026, 11, 21, tzinfo=TOKYO))
    with_early = Schedule(payments.time_zone, payments.rotations, (*payments.overrides, early))
    assert on_call(with_early, RESOLVER, datetime(2026, 11, 20, 12, tzinfo=TOKYO)).member == "alice"
    assert on_call(with_early, RESOLVER, datetime(2026, 11, 21, 12, tzinfo=TOKYO)) is None


def test_naive_instants_are_refused(payments: Schedule) -> None:
    with pytest.raises(ValueError, match="aware"):
        on_call(payments, IC, datetime(2026, 12, 1, 12))


@pytest.fixture
def new_york() -> Schedule:
    return Schedule(
        time_zone="America/New_York",
        rotations=(
            Rotation(IC, ("alice", "bob", "carol"), 24, datetime(2026, 3, 5, 9)),
            Rotation(RESOLVER, ("dave", "erin"), 168, datetime(2026, 3, 2, 9)),
        ),
    )


def test_new_york_daily_handoffs_stay_at_nine_across_spring_forward(new_york: Schedule) -> None:
    pieces = shifts(new_york, IC, utc(2026, 3, 6, 15), 4)
    assert [(p.member, p.start, p.end) for p in pieces] == [
        ("bob", utc(2026, 3, 6, 14), utc(2026, 3, 7, 14)),  # 09:00 EST
        ("carol", utc(2026, 3, 7, 14), utc(2026, 3, 8, 13)),  # 23 hours: 09:00 EST to 09:00 EDT
        ("alice", utc(2026, 3, 8, 13), utc(2026, 3, 9, 13)),
        ("bob", utc(2026, 3, 9, 13), utc(2026, 3, 10, 13)),
    ]


def test_new_york_daily_handoffs_stay_at_nine_across_fall_back(new_york: Schedule) -> None:
    pieces = shifts(new_york, IC, utc(2026, 10, 31, 13), 3)
    assert [(p.member, p.start, p.end) for p in pieces] == [
        ("alice", utc(2026, 10, 31, 13), utc(2026, 11, 1, 14)),  # 25 hours: 09:00 EDT to 09:00 EST
        ("bob", utc(2026, 11, 1, 14), utc(2026, 11, 2, 14)),
        ("carol", utc(2026, 11, 2, 14), utc(2026, 11, 3, 14)),
    ]


def test_new_york_weekly_handoffs_across_both_changes(new_york: Schedule) -> None:
    spring = shifts(new_york, RESOLVER, utc(2026, 3, 2, 14), 2)
    assert [(p.member, p.start, p.end) for p in spring] == [
        ("dave", utc(2026, 3, 2, 14), utc(2026, 3, 9, 13)),  # 167 hours
        ("erin", utc(2026, 3, 9, 13), utc(2026, 3, 16, 13)),
    ]
    fall = shifts(new_york, RESOLVER, utc(2026, 10, 27), 2)
    assert [(p.member, p.start, p.end) for p in fall] == [
        ("dave", utc(2026, 10, 26, 13), utc(2026, 11, 2, 14)),  # 169 hours
        ("erin", utc(2026, 11, 2, 14), utc(2026, 11, 9, 14)),
    ]


def test_handoff_in_the_spring_forward_gap_moves_to_the_end_of_the_gap() -> None:
    schedule = Schedule("America/New_York", (Rotation(IC, ("alice", "bob"), 24, datetime(2026, 3, 7, 2, 30)),))
    starts = [p.start for p in shifts(schedule, IC, utc(2026, 3, 7, 8), 3)]
    # 02:30 does not exist on 8 March: that handoff happens at 03:00 EDT, the first valid instant.
    assert starts == [utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7), utc(2026, 3, 9, 6, 30)]


def test_handoff_in_the_repeated_hour_takes_its_first_occurrence() -> None:
    schedule = Schedule("America/New_York", (Rotation(IC, ("alice", "bob"), 24, datetime(2026, 10, 31, 1, 30)),))
    pieces = shifts(schedule, IC, utc(2026, 10, 31, 6), 3)
    assert [p.start for p in pieces] == [utc(2026, 10, 31, 5, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]
    assert pieces[1].end - pieces[1].start == timedelta(hours=25)


def test_eight_hour_shifts_are_laid_out_in_wall_clock_time() -> None:
    spring = Schedule("America/New_York", (Rotation(IC, ("alice", "bob"), 8, datetime(2026, 3, 7, 18)),))
    assert [(p.member, p.start, p.end) for p in shifts(spring, IC, utc(2026, 3, 7, 23), 3)] == [
        ("alice", utc(2026, 3, 7, 23), utc(2026, 3, 8, 7)),  # 18:00 EST to 02:00, moved to 03:00 EDT
        ("bob", utc(2026, 3, 8, 7), utc(2026, 3, 8, 14)),  # 03:00 to 10:00 EDT: 7 hours
        ("alice", utc(2026, 3, 8, 14), utc(2026, 3, 8, 22)),
    ]
    fall = Schedule("America/New_York", (Rotation(IC, ("alice", "bob"), 8, datetime(2026, 10, 31, 17)),))
    assert [(p.member, p.start, p.end) for p in shifts(fall, IC, utc(2026, 10, 31, 21), 3)] == [
        ("alice", utc(2026, 10, 31, 21), utc(2026, 11, 1, 5)),  # 17:00 EDT to the first 01:00
        ("bob", utc(2026, 11, 1, 5), utc(2026, 11, 1, 14)),  # the first 01:00 to 09:00 EST: 9 hours
        ("alice", utc(2026, 11, 1, 14), utc(2026, 11, 1, 22)),
    ]


def test_a_shift_swallowed_by_the_gap_is_skipped() -> None:
    schedule = Schedule("America/New_York", (Rotation(IC, ("a", "b", "c"), 1, datetime(2026, 3, 8, 0)),))
    pieces = shifts(schedule, IC, utc(2026, 3, 8, 5), 4)
    # The 02:00-03:00 shift does not exist on this day; c loses that turn.
    assert [(p.member, p.start) for p in pieces] == [
        ("a", utc(2026, 3, 8, 5)),
        ("b", utc(2026, 3, 8, 6)),
        ("a", utc(2026, 3, 8, 7)),
        ("b", utc(2026, 3, 8, 8)),
    ]


def test_lord_howe_half_hour_change() -> None:
    schedule = Schedule("Australia/Lord_Howe", (Rotation(IC, ("alice",), 24, datetime(2026, 10, 2, 2, 15)),))
    starts = [p.start for p in shifts(schedule, IC, utc(2026, 10, 1, 16), 4)]
    # +10:30 until 02:00 on 4 October, then +11; 02:15 does not exist that day and becomes 02:30.
    assert starts == [
        utc(2026, 10, 1, 15, 45),
        utc(2026, 10, 2, 15, 45),
        utc(2026, 10, 3, 15, 30),
        utc(2026, 10, 4, 15, 15),
    ]


def test_parsing_starts_and_instants() -> None:
    assert parse_wall_time("2026-11-23T10:00:00", "Asia/Tokyo") == datetime(2026, 11, 23, 10)
    assert parse_wall_time("2026-11-23T01:00:00+00:00", "Asia/Tokyo") == datetime(2026, 11, 23, 10)
    assert parse_instant("2026-11-23T10:00:00", "Asia/Tokyo") == utc(2026, 11, 23, 1)
    assert parse_instant("2026-12-01T00:00:00+09:00", "UTC") == utc(2026, 11, 30, 15)
    assert parse_instant("2026-03-08T02:30:00", "America/New_York") == utc(2026, 3, 8, 7)


# --- validation ----------------------------------------------------------------------------------


def test_the_design_example_is_valid(payments: Schedule) -> None:
    assert validate_schedule(payments, {"alice", "bob", "carol", "dave"}) == {}


def test_validation_errors_are_keyed_by_field_path() -> None:
    tokyo_day = datetime(2026, 12, 1, tzinfo=TOKYO)
    schedule = Schedule(
        time_zone="Mars/Olympus_Mons",
        rotations=(
            Rotation(IC, ("alice", "alice", "mallory"), 0, datetime(2026, 11, 23, 10)),
            Rotation(IC, (), 24 * 28 + 1, datetime(2026, 11, 23, 10)),
            Rotation("scribe", ("bob",), 24, datetime(2026, 11, 23, 10)),
        ),
        overrides=(
            Override(IC, "bob", tokyo_day, tokyo_day + timedelta(hours=12)),
            Override(IC, "eve", tokyo_day + timedelta(hours=6), tokyo_day + timedelta(hours=18)),
            Override(RESOLVER, "bob", tokyo_day, tokyo_day),
            Override(IC, "carol", datetime(2026, 12, 1), datetime(2026, 12, 2)),
            Override(IC, "carol", tokyo_day + timedelta(hours=12), tokyo_day + timedelta(days=1)),
        ),
    )
    assert validate_schedule(schedule, {"alice", "bob", "carol"}) == {
        "time_zone": ["'Mars/Olympus_Mons' is not an IANA time zone name."],
        "rotations.0.members": ["'alice' is listed more than once.", "'mallory' is not a member of the team."],
        "rotations.0.shift_hours": ["Shift length must be a whole number of hours from 1 to 672."],
        "rotations.1.role": ["A rotation for incident_commander already exists (rotations.0)."],
        "rotations.1.members": ["A rotation needs at least one member."],
        "rotations.1.shift_hours": ["Shift length must be a whole number of hours from 1 to 672."],
        "rotations.2.role": ["'scribe' is not a role; use one of incident_commander, resolver."],
        "rotations": ["A rotation for resolver is required."],
        "overrides.1.member": ["'eve' is not a member of the team."],
        "overrides.1": ["Overrides 0 and 1 overlap for incident_commander."],
        "overrides.2.end": ["The end must be after the start."],
        "overrides.3.start": ["Include a UTC offset."],
        "overrides.3.end": ["Include a UTC offset."],
        "overrides.4": ["Overrides 1 and 4 overlap for incident_commander."],
    }


def test_touching_overrides_do_not_overlap(payments: Schedule) -> None:
    day = datetime(2026, 12, 3, tzinfo=TOKYO)
    second = Override(IC, "alice", day - timedelta(days=1), day)
    third = Override(IC, "bob", day, day + timedelta(hours=1))
    schedule = Schedule(payments.time_zone, payments.rotations, (*payments.overrides, second, third))
    assert validate_schedule(schedule, {"alice", "bob", "carol", "dave"}) == {}


def test_host_alias_is_not_a_time_zone(payments: Schedule) -> None:
    schedule = Schedule("localtime", payments.rotations)
    assert list(validate_schedule(schedule, {"alice", "bob", "carol", "dave"})) == ["time_zone"]


# --- iCalendar -----------------------------------------------------------------------------------


def test_ical_export_parses_back_with_one_event_per_piece(payments: Schedule) -> None:
    start, end = datetime(2026, 12, 1, tzinfo=TOKYO), datetime(2026, 12, 15, tzinfo=TOKYO)
    generated_at = utc(2026, 11, 30, 12)
    calendar = icalendar.Calendar.from_ical(to_ical(payments, "payments", start, end, generated_at))

    assert str(calendar["version"]) == "2.0"
    assert "Platform portal" in str(calendar["prodid"])
    assert str(calendar["x-wr-calname"]) == "payments on-call"
    events = calendar.walk("VEVENT")
    # IC: the override, bob's remainder, alice, bob; resolver: dave, carol, dave.
    assert len(events) == 7
    assert len(events) == len(shifts_between(payments, IC, start, end)) + len(
        shifts_between(payments, RESOLVER, start, end)
    )
    first = events[0]
    assert str(first["summary"]) == "payments incident commander: bob (override)"
    assert first.decoded("dtstart") == utc(2026, 11, 30, 15)
    assert first.decoded("dtend") == utc(2026, 12, 1, 15)
    assert first.decoded("dtstamp") == generated_at
    assert [str(e["summary"]) for e in events[4:]] == [
        "payments resolver: dave",
        "payments resolver: carol",
        "payments resolver: dave",
    ]
    assert len({str(e["uid"]) for e in events}) == len(events)


def test_ical_uids_are_stable_across_windows(payments: Schedule) -> None:
    generated_at = utc(2026, 11, 30, 12)
    early = icalendar.Calendar.from_ical(
        to_ical(payments, "payments", utc(2026, 11, 20), utc(2026, 12, 10), generated_at)
    )
    late = icalendar.Calendar.from_ical(
        to_ical(payments, "payments", utc(2026, 12, 5), utc(2026, 12, 25), generated_at)
    )
    early_uids = {str(e["uid"]): str(e["summary"]) for e in early.walk("VEVENT")}
    late_uids = {str(e["uid"]): str(e["summary"]) for e in late.walk("VEVENT")}
    shared = early_uids.keys() & late_uids.keys()
    assert shared
    assert all(early_uids[uid] == late_uids[uid] for uid in shared)


def test_ical_export_is_deterministic(payments: Schedule) -> None:
    args = (payments, "payments", utc(2026, 11, 20), utc(2026, 12, 10), utc(2026, 11, 30, 12))
    assert to_ical(*args) == to_ical(*args)
