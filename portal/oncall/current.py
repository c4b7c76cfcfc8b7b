"""Stored schedules -> the pure ``Schedule``, and who is on call at an instant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import Prefetch, QuerySet

from provisioning.spec import OnCallPair

from . import schedule as pure
from .models import Override, Rotation, RotationMember, Schedule

if TYPE_CHECKING:
    from portal.catalog.models import Team


def schedule_queryset() -> QuerySet[Schedule]:
    """Schedules with their rotations, members and overrides, in a constant number of queries."""
    members = RotationMember.objects.select_related("user").order_by("position")
    return Schedule.objects.select_related("team").prefetch_related(
        Prefetch("rotations", queryset=Rotation.objects.prefetch_related(Prefetch("members", queryset=members))),
        Prefetch("overrides", queryset=Override.objects.select_related("user").order_by("position")),
    )


def to_schedule(row: Schedule) -> pure.Schedule:
    """The pure schedule of a stored one (ideally loaded through ``schedule_queryset``)."""
    return pure.Schedule(
        time_zone=row.time_zone,
        rotations=tuple(
            pure.Rotation(
                role=rotation.role,
                members=tuple(m.user.username for m in rotation.members.all()),
                shift_hours=rotation.shift_hours,
                start=rotation.start,
            )
            for rotation in row.rotations.all()
        ),
        overrides=tuple(
            pure.Override(role=o.role, member=o.user.username, start=o.start, end=o.end) for o in row.overrides.all()
        ),
    )


def team_schedule(team: Team | int) -> Schedule | None:
    """The team's stored schedule with everything ``to_schedule`` reads, or None if it has none."""
    team_id = getattr(team, "pk", team)
    return schedule_queryset().filter(team_id=team_id).first()


def team_members(team: Team) -> set[str]:
    """Usernames allowed in the team's rotations and overrides."""
    return set(team.memberships.values_list("user__username", flat=True))


@dataclass(frozen=True)
class Holder:
    """Who holds a role at an instant, and the piece (regular shift or override) that holds it."""

    username: str
    since: datetime
    until: datetime
    is_override: bool


def holders(schedule: pure.Schedule, at: datetime) -> dict[str, Holder | None]:
    """Each role's holder at ``at``; None for a role no one holds then (before the rotation starts)."""
    result: dict[str, Holder | None] = {}
    for role in pure.Role:
        shift = pure.on_call(schedule, role, at)
        result[role.value] = Holder(shift.member, shift.start, shift.end, shift.is_override) if shift else None
    return result


def pair_at(schedule: pure.Schedule | None, at: datetime) -> OnCallPair:
    """The usernames on call for both roles at ``at``; empty strings where no one is."""
    if schedule is None:
        return OnCallPair()
    now = holders(schedule, at)
    return OnCallPair(
        incident_commander=getattr(now[pure.Role.INCIDENT_COMMANDER], "username", ""),
        resolver=getattr(now[pure.Role.RESOLVER], "username", ""),
    )


def oncall_pair(team: Team | int, at: datetime) -> OnCallPair:
    """Who is on call for ``team`` at ``at``, as the provisioning spec carries it."""
    row = team_schedule(team)
    return pair_at(to_schedule(row) if row else None, at)
