"""Who may do what, per object. One place for the rules; views and the API ask here.

- SREs see and change everything, approve, and edit platform settings.
- Members of a team see the team (never its secrets in full), and change its services and schedule.
- Owners of a team also change the team itself and its membership.
- Everyone signed in may read teams, services and on-call schedules (in an incident, anyone needs to
  find who owns a service and who is on call), never a secret in full, but not act on them.
"""

from .choices import MembershipRole


def is_sre(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and getattr(user, "is_sre", False))


def team_role(user, team) -> str | None:
    """The user's role in the team ('owner' / 'member') or None. Cached per user object."""
    if not (user and user.is_authenticated):
        return None
    cache = user.__dict__.setdefault("_team_roles", None)
    if cache is None:
        cache = dict(user.memberships.values_list("team_id", "role"))
        user.__dict__["_team_roles"] = cache
    return cache.get(team.pk if hasattr(team, "pk") else team)


def can_edit_team_content(user, team) -> bool:
    """Services, schedule, applies: members and owners of the team, and SREs."""
    return is_sre(user) or team_role(user, team) is not None


def can_manage_team(user, team) -> bool:
    """The team itself and its membership: owners and SREs."""
    return is_sre(user) or team_role(user, team) == MembershipRole.OWNER
