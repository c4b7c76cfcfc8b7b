"""Which IdP group a team may name as its ``sso_group``: that group's members join the team at each sign-in
(``portal.users.sso``), so a team must not take the SRE group or another team's group by itself."""

from django.conf import settings

from portal.audit.context import current_request

from .models import Team
from .permissions import is_sre


def sso_group_problem(value: str, team: Team | None, request=None) -> str:
    """Why the person behind ``request`` (default: the request being served) may not give ``team`` (None: a team
    being created) the SSO group ``value``; empty when they may. Only a platform SRE gives a team the SRE group
    or a group another team already has."""
    actor = getattr(request or current_request(), "user", None)
    if not value or (team is not None and value == team.sso_group) or is_sre(actor):
        return ""
    name = value.lstrip("/")  # the IdP's group paths ("/payments") arrive as plain names
    if name == settings.PORTAL_SRE_GROUP:
        return f"{value!r} is the platform SRE group; only a platform SRE may give it to a team."
    others = Team.objects.filter(sso_group__in={value, name, f"/{name}"})
    if team is not None:
        others = others.exclude(pk=team.pk)
    other = others.order_by("slug").first()
    if other is not None:
        return (
            f"{value!r} is already the SSO group of team {other.slug!r}; only a platform SRE may give two teams "
            "one group."
        )
    return ""
