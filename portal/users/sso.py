"""Map the IdP's groups claim onto the SRE role and team memberships."""

import logging

from django.conf import settings
from django.db import transaction

logger = logging.getLogger("portal.sso")


def groups_from_claims(extra_data: dict) -> list[str]:
    """The groups claim from userinfo, else from the ID token; a string or a list."""
    claim = settings.OIDC_GROUPS_CLAIM
    for source in ("userinfo", "id_token"):
        groups = (extra_data.get(source) or {}).get(claim)
        if groups is not None:
            break
    else:
        groups = extra_data.get(claim, [])
    if isinstance(groups, str):
        groups = [groups]
    # Keycloak sends full paths ("/payments"); the portal stores plain names.
    return sorted({str(g).strip().lstrip("/") for g in groups if str(g).strip()})


@transaction.atomic
def sync_user_groups(user, groups: list[str]) -> None:
    """Make the SRE flag and SSO-sourced memberships match the groups claim."""
    from portal.catalog.choices import MembershipRole, MembershipSource
    from portal.catalog.models import Membership, Team

    user.sso_groups = groups
    user.is_sre = settings.PORTAL_SRE_GROUP in groups
    user.save(update_fields=["sso_groups", "is_sre", "is_staff"])

    suffix = settings.PORTAL_OWNER_GROUP_SUFFIX
    wanted: dict[int, str] = {}
    for team in Team.objects.exclude(sso_group=""):
        if f"{team.sso_group}{suffix}" in groups:
            wanted[team.pk] = MembershipRole.OWNER
        elif team.sso_group in groups:
            wanted[team.pk] = MembershipRole.MEMBER

    current = {m.team_id: m for m in Membership.objects.filter(user=user)}
    for team_id, role in wanted.items():
        membership = current.get(team_id)
        if membership is None:
            Membership.objects.create(user=user, team_id=team_id, role=role, source=MembershipSource.SSO)
        elif membership.source == MembershipSource.SSO and membership.role != role:
            membership.role = role
            membership.save(update_fields=["role"])
    # Memberships granted by the IdP end when the IdP stops granting them; local ones stay.
    stale = [m.pk for t, m in current.items() if t not in wanted and m.source == MembershipSource.SSO]
    Membership.objects.filter(pk__in=stale).delete()
    logger.info(
        "sso.groups.synced",
        extra={"user": user.username, "groups": groups, "sre": user.is_sre, "teams": sorted(wanted)},
    )
