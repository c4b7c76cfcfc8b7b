"""A team cannot block another team's deletion by routing to its service: deleting a service that others route to
answers 409 listing the routes; confirmed (``?confirm=routes``), the routes are taken out of the routing services
in the same commit as the destroy is requested (each with an audit record its team reads), and a routing service
whose last apply differs only by those routes is applied again at once."""

import pytest

from portal.audit.models import AuditEvent
from portal.catalog.models import Membership, Route, Service, Team
from portal.users.models import User
from provisioning.models import ProvisioningRun
from provisioning.runs.tasks import execute_run

pytestmark = pytest.mark.usefixtures("platform", "gitops")

MOBILE = {"header": "user-agent", "regex": ".*Mobile.*", "service": "payments-sp"}
PARTNER = {"header": "host", "exact": "partner.example.com", "service": "payments-sp"}


@pytest.fixture
def shop(db):
    team = Team.objects.create(slug="shop", name="Shop", slack_channel="#shop", sso_group="shop")
    bob = User.objects.create(username="bob")
    Membership.objects.create(team=team, user=bob, role="owner")
    return bob


@pytest.fixture
def routed(api, member, shop):
    """payments-sp of team payments, and storefront of team shop routing mobile and partner requests to it."""
    assert (
        api(member).post("/api/v1/services/", {"team": "payments", "name": "payments-sp"}, format="json").status_code
        == 201
    )
    storefront = {"team": "shop", "name": "storefront", "exposure": {"routes": [MOBILE, PARTNER]}}
    response = api(shop).post("/api/v1/services/", storefront, format="json")
    assert response.status_code == 201, response.json()


def run_task(pk: int) -> ProvisioningRun:
    execute_run.apply(args=[pk], task_id=f"test-{pk}")
    return ProvisioningRun.objects.get(pk=pk)


def test_deleting_a_routed_service_answers_409_listing_the_routes_and_changes_nothing(api, member, routed):
    response = api(member).delete("/api/v1/services/payments-sp/")
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["routes"] == [
        {"service": "storefront", "team": "shop", "header": "user-agent", "regex": ".*Mobile.*"},
        {"service": "storefront", "team": "shop", "header": "host", "exact": "partner.example.com"},
    ]
    assert "?confirm=routes" in body["detail"]
    assert Service.objects.get(name="payments-sp").state == "active"
    assert Route.objects.filter(target__name="payments-sp").count() == 2
    assert not ProvisioningRun.objects.filter(action="destroy").exists()


def test_confirmed_the_routes_go_in_the_same_commit_and_the_other_team_reads_why(api, member, routed):
    before = api(member).get("/api/v1/services/storefront/").json()
    response = api(member).delete("/api/v1/services/payments-sp/?confirm=routes")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["action"] == "destroy" and body["service"] == "payments-sp"
    assert [r["service"] for r in body["routes_removed"]] == ["storefront", "storefront"]
    assert Service.objects.get(name="payments-sp").state == "deleting"

    after = api(member).get("/api/v1/services/storefront/").json()
    assert after["exposure"]["routes"] == []
    assert after["revision"] == before["revision"] + 1
    event = AuditEvent.objects.get(action="service.update", object_key="storefront")
    assert event.team == "shop" and event.actor_name == "alice"
    assert "payments-sp" in event.detail and "deleted" in event.detail
    assert event.before["exposure"]["routes"] == before["exposure"]["routes"]
    assert event.after["exposure"]["routes"] == []


def test_an_outsider_cannot_confirm_away_another_teams_routes(api, outsider, routed):
    response = api(outsider).delete("/api/v1/services/payments-sp/?confirm=routes")
    assert response.status_code == 403
    assert Route.objects.filter(target__name="payments-sp").count() == 2


def test_a_routing_service_applied_before_is_applied_again_without_the_routes(api, member, shop, routed, aws):
    applied = api(shop).post("/api/v1/services/storefront/apply/", {}, format="json").json()
    assert run_task(applied["id"]).status == "succeeded"

    response = api(member).delete("/api/v1/services/payments-sp/?confirm=routes")
    assert response.status_code == 202, response.content
    follow_up = ProvisioningRun.objects.get(pk=response.json()["routes_applied"]["storefront"])
    assert follow_up.action == "apply" and follow_up.scope == "service:storefront"
    assert run_task(follow_up.pk).status == "succeeded"
    manifests = api(shop).get("/api/v1/services/storefront/manifests/").content.decode()
    assert "payments-sp" not in manifests


def test_a_routing_service_with_other_unapplied_edits_waits_for_its_team(api, member, shop, routed, aws):
    applied = api(shop).post("/api/v1/services/storefront/apply/", {}, format="json").json()
    assert run_task(applied["id"]).status == "succeeded"
    edit = api(shop).patch("/api/v1/services/storefront/", {"description": "not applied yet"}, format="json")
    assert edit.status_code == 200

    response = api(member).delete("/api/v1/services/payments-sp/?confirm=routes")
    assert response.status_code == 202, response.content
    assert response.json()["routes_applied"] == {}
    assert not ProvisioningRun.objects.filter(scope="service:storefront", status="queued").exists()


def test_the_delete_page_lists_the_routes_and_deletes_only_when_confirmed(client, member, routed):
    client.force_login(member)
    page = client.get("/services/payments-sp/delete/").content.decode()
    assert "storefront" in page and "user-agent" in page and "partner.example.com" in page
    assert 'name="confirm" value="routes"' in page

    refused = client.post("/services/payments-sp/delete/")
    assert refused.status_code == 302
    assert Service.objects.get(name="payments-sp").state == "active"
    assert Route.objects.filter(target__name="payments-sp").count() == 2

    client.post("/services/payments-sp/delete/", {"confirm": "routes"})
    assert Service.objects.get(name="payments-sp").state == "deleting"
    assert not Route.objects.filter(target__name="payments-sp").exists()
    assert AuditEvent.objects.filter(action="service.update", object_key="storefront", team="shop").exists()
