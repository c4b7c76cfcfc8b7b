"""The start page: the user's teams with their services and each one's last run; for SREs, what waits for
approval."""

from itertools import groupby

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from portal.catalog.models import Membership, Service
from portal.catalog.permissions import is_sre
from provisioning.queries import pending_approvals, with_last_run


@login_required
def home(request):
    """The user's teams with their services and each one's last run; for SREs, what waits for approval."""
    memberships = list(Membership.objects.filter(user=request.user).select_related("team").order_by("team__slug"))
    services = with_last_run(Service.objects.filter(team__in=[m.team_id for m in memberships])).order_by("team", "name")
    by_team = {team_id: list(rows) for team_id, rows in groupby(services, key=lambda s: s.team_id)}
    teams = []
    for membership in memberships:
        team = membership.team
        team.my_role = membership.get_role_display().lower()
        team.home_services = by_team.get(team.pk, [])
        teams.append(team)
    approvals = list(pending_approvals()[:20]) if is_sre(request.user) else None
    return render(request, "core/home.html", {"teams": teams, "approvals": approvals})
