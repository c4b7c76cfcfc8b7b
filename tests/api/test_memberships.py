"""Team membership: owners (and SREs) add, change and remove members through the API and the team's page; the
IdP's memberships are the IdP's; a team keeps an owner; every change is in the audit log."""

import pytest
from django.test import Client

from portal.audit.models import AuditEvent
from portal.catalog.models import Membership
from portal.users.models import User

pytestmark = pytest.mark.django_db

MEMBERS = "/api/v1/teams/payments/members/"


@pytest.fixture
def owner(team):
    user = User.objects.create_user("olivia", password="olivia-password-123")
    Membership.objects.create(team=team, user=user, role="owner")
    return user


@pytest.fixture
def newcomer(db):
    return User.objects.create_user("nina", password="nina-password-123")


def test_owners_add_change_and_remove_members_and_the_audit_log_says_who(api, owner, member, newcomer):
    client = api(owner)
    response = client.post(MEMBERS, {"username": "nina", "role": "member"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json() == {
        "username": "nina",
        "role": "member",
        "source": "local",
        "created_at": response.json()["created_at"],
    }
    assert client.patch(f"{MEMBERS}nina/", {"role": "owner"}, format="json").json()["role"] == "owner"
    assert client.delete(f"{MEMBERS}nina/").status_code == 204
    assert not Membership.objects.filter(user=newcomer).exists()
    assert sorted(m["username"] for m in client.get(MEMBERS).json()) == ["alice", "olivia"]

    events = AuditEvent.objects.filter(object_type="membership", object_key="payments/nina").order_by("pk")
    assert [(e.action, e.actor_name, e.source) for e in events] == [
        ("membership.create", "olivia", "api"),
        ("membership.update", "olivia", "api"),
        ("membership.delete", "olivia", "api"),
    ]


def test_members_and_other_teams_cannot_change_membership(api, member, outsider, newcomer):
    for user in (member, outsider):
        client = api(user)
        assert client.get(MEMBERS).status_code == 200
        assert client.post(MEMBERS, {"username": "nina"}, format="json").status_code == 403
        response = client.patch(f"{MEMBERS}alice/", {"role": "owner"}, format="json")
        assert response.status_code == 403
        assert response.json()["detail"] == "Only the team's owners and SREs may change its membership."
        assert client.delete(f"{MEMBERS}alice/").status_code == 403
    assert Membership.objects.get(user=member).role == "member"


def test_sres_manage_any_team(api, sre, member, newcomer):
    client = api(sre)
    assert client.post(MEMBERS, {"username": "nina", "role": "owner"}, format="json").status_code == 201
    assert client.delete(f"{MEMBERS}alice/").status_code == 204


def test_only_people_who_exist_and_are_not_members_yet_can_be_added(api, owner, member):
    client = api(owner)
    response = client.post(MEMBERS, {"username": "ghost"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"username": ["No active user 'ghost'; people appear after their first sign-in."]}
    response = client.post(MEMBERS, {"username": "alice"}, format="json")
    assert response.json() == {"username": ["alice is already in team payments; change their role instead."]}
    response = client.post(MEMBERS, {"username": "alice", "role": "admin"}, format="json")
    assert response.status_code == 400 and "role" in response.json()
    assert client.patch(f"{MEMBERS}alice/", {"username": "bob"}, format="json").status_code == 400
    assert client.patch(f"{MEMBERS}nobody/", {"role": "owner"}, format="json").status_code == 404


def test_a_team_keeps_an_owner(api, owner, member):
    client = api(owner)
    for response in (
        client.delete(f"{MEMBERS}olivia/"),
        client.patch(f"{MEMBERS}olivia/", {"role": "member"}, format="json"),
    ):
        assert response.status_code == 409
        assert (
            response.json()["detail"] == "olivia is the last owner of team payments; make someone else an owner first."
        )
    assert client.patch(f"{MEMBERS}alice/", {"role": "owner"}, format="json").status_code == 200
    assert client.patch(f"{MEMBERS}olivia/", {"role": "member"}, format="json").status_code == 200
    assert Membership.objects.get(user=owner).role == "member"


def test_memberships_from_the_idp_are_changed_in_the_idp(api, owner, member):
    Membership.objects.filter(user=member).update(source="sso")
    client = api(owner)
    for response in (
        client.patch(f"{MEMBERS}alice/", {"role": "owner"}, format="json"),
        client.delete(f"{MEMBERS}alice/"),
    ):
        assert response.status_code == 409
        assert response.json()["detail"] == (
            "alice's membership of team payments comes from the IdP's groups and is synced at each sign-in: "
            "change it in the IdP."
        )
    assert Membership.objects.get(user=member).role == "member"


# --- the team's page ------------------------------------------------------------------------------------


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_team_page_offers_membership_controls_to_owners_only(owner, member):
    Membership.objects.filter(user=member).update(source="sso")
    page = signed_in(owner).get("/teams/payments/").content.decode()
    assert 'action="/teams/payments/members/"' in page and "Add member" in page
    assert 'action="/teams/payments/members/olivia/remove/"' in page
    assert "Managed in the IdP." in page and 'action="/teams/payments/members/alice/remove/"' not in page
    page = signed_in(member).get("/teams/payments/").content.decode()
    assert "Add member" not in page and "/remove/" not in page


def test_owners_manage_members_on_the_page_with_the_api_rules(owner, member, newcomer):
    client = signed_in(owner)
    response = client.post("/teams/payments/members/", {"username": "ghost", "role": "member"})
    assert response.status_code == 400
    assert "No active user &#x27;ghost&#x27;" in response.content.decode()
    response = client.post("/teams/payments/members/", {"username": "nina", "role": "member"}, follow=True)
    assert "nina is now a member of team payments." in response.content.decode()
    response = client.post("/teams/payments/members/nina/", {"role": "owner"}, follow=True)
    assert "nina is now an owner of team payments." in response.content.decode()
    response = client.post("/teams/payments/members/alice/remove/", follow=True)
    assert "alice is no longer in team payments." in response.content.decode()
    assert sorted(Membership.objects.values_list("user__username", "role")) == [("nina", "owner"), ("olivia", "owner")]
    AuditEvent.objects.get(action="membership.delete", object_key="payments/alice", actor_name="olivia", source="web")


def test_the_page_refuses_what_the_api_refuses(owner, member):
    client = signed_in(owner)
    response = client.post("/teams/payments/members/olivia/remove/", follow=True)
    assert "olivia is the last owner of team payments" in response.content.decode()
    Membership.objects.filter(user=member).update(source="sso")
    response = client.post("/teams/payments/members/alice/", {"role": "owner"}, follow=True)
    assert "comes from the IdP&#x27;s groups" in response.content.decode()
    assert Membership.objects.filter(role="owner").count() == 1
