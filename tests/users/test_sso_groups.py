"""Mapping of the IdP's groups claim (the login flow itself is tested against a real provider)."""

from portal.catalog.models import Membership, Team
from portal.users.models import User
from portal.users.sso import groups_from_claims, sync_user_groups


def test_groups_come_from_userinfo_then_the_id_token_and_drop_keycloak_slashes(settings):
    assert groups_from_claims({"userinfo": {"groups": ["/payments", "x"]}}) == ["payments", "x"]
    assert groups_from_claims({"userinfo": {"sub": "1"}, "id_token": {"groups": "ops"}}) == ["ops"]
    settings.OIDC_GROUPS_CLAIM = "roles"
    assert groups_from_claims({"id_token": {"roles": ["a"]}}) == ["a"]


def test_sync_grants_and_revokes_sso_memberships_but_keeps_local_ones(team):
    other = Team.objects.create(slug="checkout", name="Checkout", sso_group="checkout")
    local = Team.objects.create(slug="search", name="Search", sso_group="search")
    user = User.objects.create(username="alice")
    Membership.objects.create(user=user, team=local, role="member", source="local")

    sync_user_groups(user, ["payments-owners", "checkout", "platform-sre"])
    roles = {m.team.slug: (m.role, m.source) for m in Membership.objects.filter(user=user)}
    assert roles == {"payments": ("owner", "sso"), "checkout": ("member", "sso"), "search": ("member", "local")}
    assert User.objects.get(pk=user.pk).is_sre

    sync_user_groups(user, ["payments"])
    roles = {m.team.slug: m.role for m in Membership.objects.filter(user=user)}
    assert roles == {"payments": "member", "search": "member"}
    assert not other.memberships.exists()
    assert not User.objects.get(pk=user.pk).is_sre
