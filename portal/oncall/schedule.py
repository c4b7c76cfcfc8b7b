"""On-call schedules as pure functions: who holds a role when, the next shifts, validation, iCalendar.

Nothing here touches Django, the database or the clock; callers pass every instant in.

Semantics, decided once for the whole module:

- A schedule has one time zone (an IANA name). Each role has one rotation: ordered members, a shift
  length in hours and a start given as a naive wall-clock time in that zone (see ``parse_wall_time``).
- Shifts are laid out in wall-clock time: handoff ``k`` is the wall time ``start + k * shift_hours``,
  then placed on the time line in the schedule's zone. A 24h shift starting at 10:00 therefore hands
  off at 10:00 every day, and the shift containing a daylight-saving change is shorter or longer by
  that change (23h or 25h in New York). Shift lengths that are not multiples of 24h follow the same
  rule, so their handoffs keep the same wall-clock times from day to day.
- A handoff wall time that does not exist (the spring-forward gap) moves forward to the first valid
  instant, the end of the gap. One that exists twice (fall back) takes its first occurrence (fold=0).
- Shift ``k`` runs from handoff ``k`` to handoff ``k + 1``, so shifts never overlap and never leave
  a gap. If both handoffs fall into the same gap (only possible when a shift is no longer than the
  gap) the shift is empty and is skipped; its member simply loses that turn.
- Overrides win over the rotation. An override splits the regular shift it lands in into a piece
  before it, the override and a piece after it. Pieces are never merged, even when the same member
  holds consecutive pieces, so each piece maps to one source (a shift or an override) and keeps a
  stable identity. Overlapping overrides of one role are invalid; if given anyway, the later one in
  the list wins where they overlap.
- Before the rotation's start no one is on call, except during an override: ``on_call`` returns
  ``None`` then.
- Every returned instant is an aware datetime in UTC. Aware datetimes sharing one ``ZoneInfo``
  compare by wall time and ignore ``fold``, which is wrong in the repeated hour; UTC compares right.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from itertools import islice, pairwise
from zoneinfo import ZoneInfo, available_timezones

import icalendar


class Role(StrEnum):
    """The two on-call roles of every team."""

    INCIDENT_COMMANDER = "incident_commander"
    RESOLVER = "resolver"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


MAX_SHIFT_HOURS = 24 * 28


@dataclass(frozen=True)
class Rotation:
    """One role's rotation; ``start`` is a naive wall-clock time in the schedule's time zone."""

    role: str
    members: tuple[str, ...]
    shift_hours: int
    start: datetime


@dataclass(frozen=True)
class Override:
    """``member`` holds ``role`` from ``start`` to ``end`` (aware datetimes, end exclusive)."""

    role: str
    member: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Schedule:
    """A team's on-call schedule: a time zone, one rotation per role and overrides."""

    time_zone: str
    rotations: tuple[Rotation, ...]
    overrides: tuple[Override, ...] = ()


@dataclass(frozen=True)
class Shift:
    """``member`` holds ``role`` from ``start`` to ``end`` (UTC, end exclusive); a regular piece or an override."""

    member: str
    start: datetime
    end: datetime
    role: str
    is_override: bool = False


# --- parsing -------------------------------------------------------------------------------------


def parse_wall_time(value: str | datetime, time_zone: str) -> datetime:
    """A rotation start as naive wall time in ``time_zone``; a value with an offset is converted to that zone."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(ZoneInfo(time_zone)).replace(tzinfo=None)


def parse_instant(value: str | datetime, time_zone: str) -> datetime:
    """An instant in UTC; a value without an offset is wall time in ``time_zone``, resolved like handoffs."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        return _resolve_wall_time(moment, ZoneInfo(time_zone))
    return moment.astimezone(UTC)


def _resolve_wall_time(wall: datetime, zone: ZoneInfo) -> datetime:
    """Place a naive wall time on the time line: first occurrence if repeated, end of the gap if skipped."""
    # fold=0 is the first occurrence of a repeated wall time; a round trip tells whether it exists.
    instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    # Inside a gap fold=1 maps with the offset after the change and fold=0 with the one before, so the
    # change lies between the two; zoneinfo does not expose transitions, hence the search on seconds.
    low = math.floor(wall.replace(tzinfo=zone, fold=1).timestamp())
    high = math.ceil(instant.timestamp())
    offset_before = datetime.fromtimestamp(low, zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == offset_before:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"an aware datetime is required, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


# --- the time line -------------------------------------------------------------------------------


class _Handoffs:
    """The handoff instants of one rotation, computed on demand by index."""

    def __init__(self, rotation: Rotation, zone: ZoneInfo) -> None:
        self.zone = zone
        self.first = parse_wall_time(rotation.start, zone.key)
        self.step = timedelta(hours=rotation.shift_hours)

    def __getitem__(self, index: int) -> datetime:
        return _resolve_wall_time(self.first + index * self.step, self.zone)

    def index_at(self, moment: datetime) -> int:
        """The ``k`` with ``self[k] <= moment < self[k + 1]``; negative before the first handoff."""
        wall = moment.astimezone(self.zone).replace(tzinfo=None)
        # Wall time is off by at most a DST change (or a gap) from the handoff grid; walk the rest.
        index = (wall - self.first) // self.step
        while self[index] > moment:
            index -= 1
        while self[index + 1] <= moment:
            index += 1
        return index


def _rotation_for(schedule: Schedule, role: str) -> Rotation | None:
    # The first rotation of the role counts; a rotation without members cannot hold a shift.
    return next((r for r in schedule.rotations if r.role == role and r.members), None)


def _effective_overrides(schedule: Schedule, role: str) -> list[Shift]:
    """The role's overrides as disjoint, sorted pieces; where overrides overlap the later one in the list wins."""
    overrides = [
        (index, o, _utc(o.start), _utc(o.end))
        for index, o in enumerate(schedule.overrides)
        if o.role == role and o.end > o.start
    ]
    points = sorted({start for _, _, start, _ in overrides} | {end for _, _, _, end in overrides})
    pieces: list[Shift] = []
    owners: list[int] = []
    for low, high in pairwise(points):
        covering = [(index, o) for index, o, start, end in overrides if start <= low and high <= end]
        if not covering:
            continue
        index, override = covering[-1]
        if owners and owners[-1] == index and pieces[-1].end == low:
            pieces[-1] = Shift(override.member, pieces[-1].start, high, role, is_override=True)
        else:
            pieces.append(Shift(override.member, low, high, role, is_override=True))
            owners.append(index)
    return pieces


def _pieces(schedule: Schedule, role: str, at: datetime) -> Iterator[Shift]:
    """The role's pieces in order: the one holding ``at`` (if any), then every later one."""
    role = str(role)  # a Role member and its plain value give the same pieces
    cursor = _utc(at)
    rotation = _rotation_for(schedule, role)
    handoffs = _Handoffs(rotation, ZoneInfo(schedule.time_zone)) if rotation else None
    overrides = _effective_overrides(schedule, role)
    index = 0  # first override that ends after the cursor
    while True:
        while index < len(overrides) and overrides[index].end <= cursor:
            index += 1
        upcoming = overrides[index] if index < len(overrides) else None
        if upcoming and upcoming.start <= cursor:
            yield upcoming
            cursor = upcoming.end
            continue
        if handoffs is None or cursor < handoffs[0]:
            # No regular shift here: jump to whatever begins next, if anything does.
            candidates = [upcoming.start] if upcoming else []
            if handoffs is not None:
                candidates.append(handoffs[0])
            if not candidates:
                return
            cursor = min(candidates)
            continue
        shift = handoffs.index_at(cursor)
        start = handoffs[shift]
        if index > 0:
            start = max(start, overrides[index - 1].end)  # the part after an override
        end = handoffs[shift + 1]
        if upcoming:
            end = min(end, upcoming.start)  # the part before an override
        member = rotation.members[shift % len(rotation.members)]
        yield Shift(member, start, end, role, is_override=False)
        cursor = end


# --- queries -------------------------------------------------------------------------------------


def on_call(schedule: Schedule, role: str, at: datetime) -> Shift | None:
    """Who holds ``role`` at instant ``at`` and for which piece; ``None`` when no one does (before the start)."""
    current = next(_pieces(schedule, role, at), None)
    if current is None or current.start > at:
        return None
    return current


def shifts(schedule: Schedule, role: str, start: datetime, count: int) -> list[Shift]:
    """The next ``count`` pieces of ``role`` from instant ``start``, beginning with the one in progress."""
    return list(islice(_pieces(schedule, role, start), max(count, 0)))


def next_shifts(schedule: Schedule, at: datetime, n: int) -> dict[str, list[Shift]]:
    """``shifts`` for both roles, keyed by role."""
    return {role.value: shifts(schedule, role, at, n) for role in Role}


def shifts_between(schedule: Schedule, role: str, start: datetime, end: datetime) -> list[Shift]:
    """Every piece of ``role`` that overlaps the window ``[start, end)``, unclipped."""
    window_end = _utc(end)
    pieces = []
    for piece in _pieces(schedule, role, start):
        if piece.start >= window_end:
            break
        pieces.append(piece)
    return pieces


# --- validation ----------------------------------------------------------------------------------


@functools.cache
def _time_zone_names() -> frozenset[str]:
    # "localtime" is the host's own zone file, not an IANA name, and means something else on each host.
    return frozenset(available_timezones() - {"localtime"})


def validate_schedule(schedule: Schedule, team_members: set[str]) -> dict[str, list[str]]:
    """Errors keyed by field path (``time_zone``, ``rotations.0.members``, ``overrides.1.end``); empty when valid."""
    errors: dict[str, list[str]] = {}

    def add(path: str, message: str) -> None:
        errors.setdefault(path, []).append(message)

    if schedule.time_zone not in _time_zone_names():
        add("time_zone", f"{schedule.time_zone!r} is not an IANA time zone name.")

    roles = {role.value for role in Role}
    role_rotation: dict[str, int] = {}
    for i, rotation in enumerate(schedule.rotations):
        if rotation.role not in roles:
            add(f"rotations.{i}.role", f"{rotation.role!r} is not a role; use one of {', '.join(sorted(roles))}.")
        elif rotation.role in role_rotation:
            add(
                f"rotations.{i}.role",
                f"A rotation for {rotation.role} already exists (rotations.{role_rotation[rotation.role]}).",
            )
        else:
            role_rotation[rotation.role] = i
        if not rotation.members:
            add(f"rotations.{i}.members", "A rotation needs at least one member.")
        for member in sorted({m for m in rotation.members if rotation.members.count(m) > 1}):
            add(f"rotations.{i}.members", f"{member!r} is listed more than once.")
        for member in sorted(set(rotation.members) - team_members):
            add(f"rotations.{i}.members", f"{member!r} is not a member of the team.")
        hours = rotation.shift_hours
        if not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= MAX_SHIFT_HOURS:
            add(
                f"rotations.{i}.shift_hours",
                f"Shift length must be a whole number of hours from 1 to {MAX_SHIFT_HOURS}.",
            )
    for role in Role:
        if role.value not in role_rotation:
            add("rotations", f"A rotation for {role.value} is required.")

    valid: list[tuple[int, Override]] = []
    for i, override in enumerate(schedule.overrides):
        if override.role not in roles:
            add(f"overrides.{i}.role", f"{override.role!r} is not a role; use one of {', '.join(sorted(roles))}.")
        if override.member not in team_members:
            add(f"overrides.{i}.member", f"{override.member!r} is not a member of the team.")
        naive = [name for name in ("start", "end") if getattr(override, name).tzinfo is None]
        for name in naive:
            add(f"overrides.{i}.{name}", "Include a UTC offset.")
        if naive:
            continue
        if override.end <= override.start:
            add(f"overrides.{i}.end", "The end must be after the start.")
            continue
        for j, other in valid:
            if other.role == override.role and override.start < other.end and other.start < override.end:
                add(f"overrides.{i}", f"Overrides {j} and {i} overlap for {override.role}.")
        valid.append((i, override))
    return errors


# --- iCalendar -----------------------------------------------------------------------------------


def to_ical(schedule: Schedule, team_slug: str, start: datetime, end: datetime, generated_at: datetime) -> bytes:
    """An iCalendar feed with one event per piece of each role overlapping ``[start, end)``."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Platform portal//On-call//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{team_slug} on-call")
    calendar.add("x-wr-timezone", schedule.time_zone)
    stamp = _utc(generated_at)
    for role in Role:
        for piece in shifts_between(schedule, role, start, end):
            event = icalendar.Event()
            # The UID names the slot, not the person: when an override or a new rotation changes who
            # holds it, calendar apps update the event instead of adding a second one.
            event.add("uid", f"{role.value}-{piece.start:%Y%m%dT%H%M%SZ}@{team_slug}.oncall.portal")
            event.add("dtstamp", stamp)
            event.add("dtstart", piece.start)
            event.add("dtend", piece.end)
            summary = f"{team_slug} {role.label}: {piece.member}"
            event.add("summary", f"{summary} (override)" if piece.is_override else summary)
            # Being on call should not mark the member busy in other people's scheduling views.
            event.add("transp", "TRANSPARENT")
            calendar.add_component(event)
    return calendar.to_ical()
