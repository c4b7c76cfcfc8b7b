"""Input is refused where it comes in, not when Envoy or AWS chokes on it at apply time: header-route regexes in
the RE2 syntax Envoy runs, bounded counts and lengths, and SSO groups a team may claim. Each error names its field."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from portal.catalog.limits import MAX_ALLOWED_CALLERS, MAX_DESCRIPTION_LENGTH, MAX_HOSTNAMES, MAX_ROUTES
from portal.catalog.models import Membership, Team
from portal.users.models import User

from .test_service_validation import assert_refused, doc, save


@pytest.fixture
def neighbours(team, platform):
    for name in ("payments-sp", "checkout"):
        save({"name": name, "team": "payments"})


@pytest.mark.parametrize(
    "regex",
    [
        r"(a)\1",  # a backreference
        r"(?P<os>iOS)(?P=os)",
        r"(?=.*Mobile).*",  # lookahead
        r"(?!Bot).*",
        r"(?<=Mobile).*",  # lookbehind
        r"(?<!Bot)Mobile",
        r"Mobile.*+",  # possessive
        r"(?>Mobile|Tablet)",  # atomic group
        r"Mobile\Z",
        r"(?x) Mobile",
        r"(?#comment)Mobile",
        r"(a{1000}){1000}",  # beyond RE2's limits
        r"[Mobile",
    ],
)
def test_header_regexes_envoy_refuses_are_refused_at_the_form(neighbours, regex):
    routes = [{"header": "user-agent", "regex": regex, "service": "payments-sp"}]
    service, errors = save(doc(exposure={"routes": routes}))
    assert service is None
    (message,) = errors["exposure"]["routes"][0]["regex"]
    assert "RE2" in message and "Envoy" in message


@pytest.mark.parametrize("regex", [r".*Mobile.*", r"(?i).*(iphone|android).*", r"\pL+", r"^v[0-9]+\z", r"(?P<v>a)"])
def test_header_regexes_in_re2_syntax_are_accepted(neighbours, regex):
    routes = [{"header": "user-agent", "regex": regex, "service": "payments-sp"}]
    service, errors = save(doc(exposure={"routes": routes}))
    assert service is not None, errors


def test_routes_per_service_are_bounded(neighbours):
    routes = [{"header": f"x-route-{i}", "exact": "1", "service": "payments-sp"} for i in range(MAX_ROUTES + 1)]
    assert_refused(doc(exposure={"routes": routes}), "exposure.routes", f"at most {MAX_ROUTES} routes")


def test_hostnames_per_service_are_bounded(neighbours):
    hostnames = [f"h{i}.example.com" for i in range(MAX_HOSTNAMES + 1)]
    assert_refused(doc(exposure={"hostnames": hostnames}), "exposure.hostnames", f"at most {MAX_HOSTNAMES} hostnames")


def test_allowed_callers_are_bounded_before_any_is_looked_up(neighbours, django_assert_max_num_queries):
    callers = [f"caller-{i}" for i in range(MAX_ALLOWED_CALLERS + 1)]
    with django_assert_max_num_queries(10):
        service, errors = save(doc(traffic={"allowed_callers": callers}))
    assert service is None
    assert errors["traffic"]["allowed_callers"] == [f"A service has at most {MAX_ALLOWED_CALLERS} allowed callers."]


def test_the_description_is_bounded(neighbours):
    assert_refused(doc(description="x" * (MAX_DESCRIPTION_LENGTH + 1)), "description", str(MAX_DESCRIPTION_LENGTH))
    service, errors = save(doc(description="x" * MAX_DESCRIPTION_LENGTH))
    assert service is not None, errors


# --- SSO groups ---------------------------------------------------------------------------------------------


@pytest.fixture
def people(team):
    users = {name: User.objects.create(username=name) for name in ("olga", "sam")}
    Membership.objects.create(team=team, user=users["olga"], role="owner")
    users["sam"].is_sre = True
    users["sam"].save()
    return users


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_team_may_not_claim_the_sre_group(people, settings):
    response = api(people["olga"]).patch(
        "/api/v1/teams/payments/", {"sso_group": settings.PORTAL_SRE_GROUP}, format="json"
    )
    assert response.status_code == 400
    assert "SRE group" in response.json()["sso_group"][0]
    created = api(people["olga"]).post(
        "/api/v1/teams/", {"slug": "ops", "name": "Ops", "sso_group": settings.PORTAL_SRE_GROUP}, format="json"
    )
    assert created.status_code == 400 and list(created.json()) == ["sso_group"]
    assert Team.objects.get(slug="payments").sso_group == "payments"


def test_a_team_may_not_claim_another_teams_group(people):
    response = api(people["olga"]).post(
        "/api/v1/teams/", {"slug": "shadow", "name": "Shadow", "sso_group": "payments"}, format="json"
    )
    assert response.status_code == 400
    assert "team 'payments'" in response.json()["sso_group"][0]
    assert not Team.objects.filter(slug="shadow").exists()


def test_the_web_form_applies_the_same_rule(people, settings):
    Team.objects.create(slug="search", name="Search", sso_group="search")
    client = Client()
    client.force_login(people["olga"])
    page = client.post(
        "/teams/payments/edit/", {"name": "Payments", "slack_channel": "", "sso_group": "search", "revision": "1"}
    )
    assert page.status_code == 200
    assert "team &#x27;search&#x27;" in page.content.decode() or "team 'search'" in page.content.decode()
    assert Team.objects.get(slug="payments").sso_group == "payments"


def test_an_sre_may_share_a_group_or_give_a_team_the_sre_group(people, settings):
    sre = api(people["sam"])
    response = sre.post(
        "/api/v1/teams/", {"slug": "billing", "name": "Billing", "sso_group": "payments"}, format="json"
    )
    assert response.status_code == 201, response.json()
    response = sre.post(
        "/api/v1/teams/",
        {"slug": "platform", "name": "Platform", "sso_group": settings.PORTAL_SRE_GROUP},
        format="json",
    )
    assert response.status_code == 201, response.json()


def test_a_team_keeps_its_group_when_others_edit_the_rest(people):
    Team.objects.create(slug="billing", name="Billing", sso_group="payments")  # shared by an SRE earlier
    response = api(people["olga"]).patch("/api/v1/teams/payments/", {"name": "Payments team"}, format="json")
    assert response.status_code == 200, response.json()
    response = api(people["olga"]).patch("/api/v1/teams/payments/", {"sso_group": "payments"}, format="json")
    assert response.status_code == 200, response.json()
