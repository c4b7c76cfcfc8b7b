"""Who may do what, per object. One place for the rules; the pages and the API ask here (the admin admits
staff, and staff is the SRE flag: ``users.User.save``).

- Nobody signed out sees anything but the sign-in pages, the health check, the API's schema and docs, and a
  team's calendar feed to whoever holds its feed token.
- Everyone signed in may read teams, services, runs and on-call schedules (in an incident, anyone needs to
  find who owns a service and who is on call), never a secret in full, but not act on them.
- Members of a team change its services and schedule, plan, apply and cancel their runs.
- Owners of a team also change the team itself and its membership.
- SREs see and change everything; only they approve, edit platform settings, act on the platform layer,
  force a take-over of conflicting fields, read the audit log and use the admin.

Who is signed in and who is an SRE is answered in ``portal.core.permissions``, which the audit log asks too (it
sits below the catalog). ``tests/security/matrix.py`` holds the same rules as a table of every URL and role;
its tests hold the code to it.
"""

from django.core.exceptions import PermissionDenied

from portal.core.permissions import is_signed_in, is_sre

from .choices import MembershipRole


def team_role(user, team) -> str | None:
    """The user's role in the team ('owner' / 'member') or None. Cached per user object."""
    if not is_signed_in(user):
        return None
    cache = user.__dict__.setdefault("_team_roles", None)
    if cache is None:
        cache = dict(user.memberships.values_list("team_id", "role"))
        user.__dict__["_team_roles"] = cache
    return cache.get(team.pk if hasattr(team, "pk") else team)


def can_edit_team_content(user, team) -> bool:
    """Services, schedule, plans, applies and runs: members and owners of the team, and SREs."""
    return is_sre(user) or team_role(user, team) is not None


def can_manage_team(user, team) -> bool:
    """The team itself and its membership: owners and SREs."""
    return is_sre(user) or team_role(user, team) == MembershipRole.OWNER


def can_act_on_run(user, run) -> bool:
    """Cancel a run: the team of its service, and SREs (platform runs have no team)."""
    return is_sre(user) or (run.service is not None and can_edit_team_content(user, run.service.team))


def can_approve(user) -> bool:
    """Approve or reject what waits for approval (never one's own request: the operation refuses that)."""
    return is_sre(user)


def can_change_platform(user) -> bool:
    """Platform settings, and planning and applying the platform layer."""
    return is_sre(user)


def can_use_reserved_hostnames(user) -> bool:
    """Give a service a hostname the platform reserves (its zones' apexes, its own consoles, its list)."""
    return is_sre(user)


def can_force_conflicts(user) -> bool:
    """Take over fields another field manager owns when applying."""
    return is_sre(user)


def require_team_member(request, service, doing: str) -> None:
    """Refuse (403, saying whom to ask) unless the user may ``doing`` the service: its team and SREs."""
    if not can_edit_team_content(request.user, service.team):
        raise PermissionDenied(
            f"Only members of team {service.team.slug} and platform SREs may {doing} {service.name}. "
            "Ask one of the team's owners to add you."
        )
