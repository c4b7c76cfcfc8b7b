"""On-call pages: who is on call now across teams, and a team's next four weeks with its calendar feed."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from portal.catalog.models import Team
from portal.catalog.permissions import can_edit_team_content

from . import schedule as pure
from .current import holders, schedule_queryset, team_schedule, to_schedule

CALENDAR_DAYS = 28


@dataclass(frozen=True)
class Piece:
    """A stretch of one role on one day, in the schedule's local time."""

    username: str
    start: datetime
    end: datetime
    is_override: bool


@dataclass(frozen=True)
class Day:
    day: date
    incident_commander: list[Piece]
    resolver: list[Piece]


def calendar(schedule: pure.Schedule, start: datetime, days: int) -> list[Day]:
    """Each local day from ``start``'s day on, with who holds each role when (pieces clipped to the day)."""
    zone = ZoneInfo(schedule.time_zone)
    first = start.astimezone(zone).date()
    bounds = [datetime.combine(first + timedelta(days=i), datetime.min.time(), zone) for i in range(days + 1)]
    window_start, window_end = bounds[0].astimezone(ZoneInfo("UTC")), bounds[-1].astimezone(ZoneInfo("UTC"))
    shifts = {role: pure.shifts_between(schedule, role, window_start, window_end) for role in pure.Role}
    result = []
    for i in range(days):
        day_start, day_end = bounds[i], bounds[i + 1]
        cells = {}
        for role, pieces in shifts.items():
            cells[role.value] = [
                Piece(
                    s.member,
                    max(s.start, day_start).astimezone(zone),
                    min(s.end, day_end).astimezone(zone),
                    s.is_override,
                )
                for s in pieces
                if s.start < day_end and s.end > day_start
            ]
        result.append(Day(first + timedelta(days=i), cells["incident_commander"], cells["resolver"]))
    return result


@login_required
def overview(request):
    """Who is on call right now, for every team with a schedule."""
    now = timezone.now()
    rows = []
    for row in schedule_queryset().order_by("team__slug"):
        rows.append({"team": row.team, "time_zone": row.time_zone, "holders": holders(to_schedule(row), now)})
    teams_without = Team.objects.filter(oncall_schedule__isnull=True).order_by("slug")
    return render(request, "oncall/overview.html", {"rows": rows, "teams_without": teams_without, "now": now})


def _page(request, team: Team, feed_url: str = "", status: int = 200):
    row = team_schedule(team)
    context = {"team": team, "row": row, "can_edit": can_edit_team_content(request.user, team), "feed_url": feed_url}
    if row is not None:
        schedule = to_schedule(row)
        now = timezone.now()
        context.update(
            {
                "now": now.astimezone(ZoneInfo(row.time_zone)),
                "holders": holders(schedule, now),
                "days": calendar(schedule, now, CALENDAR_DAYS),
                "ics_url": reverse("oncall-ics", kwargs={"slug": team.slug}),
            }
        )
    return render(request, "oncall/team.html", context, status=status)


@login_required
def team_oncall(request, slug: str):
    return _page(request, get_object_or_404(Team, slug=slug))


@login_required
@require_POST
def feed_link(request, slug: str):
    """A new calendar subscription link (the old one stops working); shown once."""
    team = get_object_or_404(Team, slug=slug)
    if not can_edit_team_content(request.user, team):
        raise PermissionDenied(f"Only members of team {team.slug} and SREs may create its calendar link.")
    row = team_schedule(team)
    if row is None:
        return _page(request, team, status=409)
    token = row.issue_feed_token()
    url = f"{settings.PORTAL_PUBLIC_URL.rstrip('/')}{reverse('oncall-ics', kwargs={'slug': slug})}?token={token}"
    return _page(request, team, feed_url=url)
