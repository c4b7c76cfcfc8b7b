"""``/api/v1/scorecards/``, ``/api/v1/team-scorecards/`` and ``/api/v1/scorecard-rules/``: filters, order,
pagination, errors naming the parameter, and the same readers as services."""

import pytest
from rest_framework.test import APIClient

from portal.catalog.models import Service, Team, Telemetry, Traffic
from portal.scorecards.rules import RULE_IDS
from portal.users.models import User

from .world import GOLD, make_ready, register

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(people) -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.create(username="reader"))  # in no team: anyone signed in reads
    return client


@pytest.fixture
def fleet(gold, team):
    """ledger (gold), ledger-sp (silver: PERMISSIVE), ledger-ui (no level: no runbook), and orders of team checkout
    (bronze: no dashboard)."""
    silver = make_ready(register("ledger-sp", **GOLD))
    Traffic.objects.filter(service=silver).update(mtls="PERMISSIVE")
    make_ready(register("ledger-ui", **{**GOLD, "runbook_url": ""}))
    checkout = Team.objects.create(
        slug="checkout", name="Checkout", incident_alertmanager_url="https://hooks.example.com/services/T1/B1/y"
    )
    for user in User.objects.filter(username__in=["alice", "bob"]):
        checkout.memberships.create(user=user)
    bronze = make_ready(register("orders", team="checkout", **{**GOLD, "tier": 3}))
    Telemetry.objects.filter(service=bronze).update(dashboard=False)


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [card["service"] for card in response.json()["results"]]


def test_a_card_in_the_api(client, fleet):
    response = client.get("/api/v1/scorecards/ledger-sp/")
    assert response.status_code == 200
    card = response.json()
    assert {k: card[k] for k in ("service", "team", "tier", "level", "next_level", "passed", "failed")} == {
        "service": "ledger-sp",
        "team": "payments",
        "tier": 1,
        "level": "silver",
        "next_level": "gold",
        "passed": 10,
        "failed": 1,
    }
    assert [r["id"] for r in card["rules"]] == list(RULE_IDS)
    mtls = next(r for r in card["rules"] if r["id"] == "mtls-strict")
    assert mtls == {
        "id": "mtls-strict",
        "title": "mTLS STRICT",
        "level": "gold",
        "status": "fail",
        "detail": "mTLS is PERMISSIVE.",
        "why": mtls["why"],
        "fix_url": "http://testserver/services/ledger-sp/edit/?step=traffic",
    }
    assert client.get("/api/v1/scorecards/nothing/").status_code == 404


def test_a_list_names_the_failing_rules_and_expands_to_every_outcome(client, fleet):
    listed = {c["service"]: c for c in client.get("/api/v1/scorecards/").json()["results"]}
    card = client.get("/api/v1/scorecards/ledger-sp/").json()
    assert listed["ledger-sp"] == {key: value for key, value in card.items() if key != "rules"}
    assert (listed["ledger-sp"]["failing"], listed["ledger-sp"]["level"]) == (["mtls-strict"], "silver")
    assert listed["ledger"]["failing"] == []
    expanded = {c["service"]: c for c in client.get("/api/v1/scorecards/?expand=rules").json()["results"]}
    assert expanded["ledger-sp"] == card
    response = client.get("/api/v1/scorecards/?expand=everything")
    assert response.status_code == 400 and list(response.json()) == ["expand"]


def test_list_worst_level_first_then_by_name_paginated(client, fleet):
    response = client.get("/api/v1/scorecards/")
    assert names(response) == ["ledger-ui", "orders", "ledger-sp", "ledger"]
    assert [c["level"] for c in response.json()["results"]] == ["none", "bronze", "silver", "gold"]
    page = client.get("/api/v1/scorecards/?page_size=3&page=2").json()
    assert page["count"] == 4 and [c["service"] for c in page["results"]] == ["ledger"] and page["next"] is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("team=checkout", ["orders"]),
        ("team=nobody", []),
        ("level=silver", ["ledger-sp"]),
        ("level=none", ["ledger-ui"]),
        ("failing=runbook", ["ledger-ui"]),
        ("failing=dashboard", ["orders"]),
        ("failing=oncall-rotation", []),  # orders is tier 3: the rule does not apply, it is not failing
        ("team=payments&failing=mtls-strict", ["ledger-sp"]),
        ("sort=service", ["ledger", "ledger-sp", "ledger-ui", "orders"]),
        ("sort=-level", ["ledger", "ledger-sp", "orders", "ledger-ui"]),
        ("sort=-tier", ["orders", "ledger", "ledger-sp", "ledger-ui"]),
        ("sort=team", ["orders", "ledger", "ledger-sp", "ledger-ui"]),
    ],
)
def test_filters_and_order(client, fleet, query, expected):
    assert names(client.get(f"/api/v1/scorecards/?{query}")) == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [("level=platinum", "level"), ("failing=coffee", "failing"), ("sort=colour", "sort"), ("team=" + "x" * 70, "team")],
)
def test_a_bad_parameter_is_named(client, fleet, query, field):
    response = client.get(f"/api/v1/scorecards/?{query}")
    assert response.status_code == 400 and list(response.json()) == [field], response.json()


def test_team_levels(client, fleet):
    response = client.get("/api/v1/team-scorecards/")
    assert response.status_code == 200
    teams = {t["team"]: t for t in response.json()["results"]}
    assert teams["payments"] == {
        "team": "payments",
        "name": "Payments",
        "level": "none",
        "services": 3,
        "levels": {"none": 1, "bronze": 0, "silver": 1, "gold": 1},
        "failing": {"runbook": 1, "mtls-strict": 1},
    }
    assert teams["checkout"]["level"] == "bronze"
    only = client.get("/api/v1/team-scorecards/?team=checkout").json()["results"]
    assert [t["team"] for t in only] == ["checkout"]


def test_rule_counts(client, fleet):
    response = client.get("/api/v1/scorecard-rules/")
    assert response.status_code == 200
    rules = {r["id"]: r for r in response.json()}
    assert list(rules) == list(RULE_IDS)
    assert {k: rules["oncall-rotation"][k] for k in ("passed", "failed", "not_applicable")} == {
        "passed": 3,
        "failed": 0,
        "not_applicable": 1,
    }
    assert (rules["runbook"]["passed"], rules["runbook"]["failed"]) == (3, 1)
    assert rules["slo"]["applies_to"].startswith("tier 1–2")
    team = {r["id"]: r for r in client.get("/api/v1/scorecard-rules/?team=checkout").json()}
    assert (team["dashboard"]["failed"], team["runbook"]["passed"]) == (1, 1)


def test_only_active_services_have_cards(client, fleet):
    Service.objects.filter(name="ledger-ui").update(state="deleting")
    assert "ledger-ui" not in names(client.get("/api/v1/scorecards/"))
    assert client.get("/api/v1/scorecards/ledger-ui/").status_code == 404


def test_signed_out_gets_401(fleet):
    for url in (
        "/api/v1/scorecards/",
        "/api/v1/scorecards/ledger/",
        "/api/v1/team-scorecards/",
        "/api/v1/scorecard-rules/",
    ):
        assert APIClient().get(url).status_code == 401
