"""``/scorecards/``: the table sorted on the server, filters, each rule's counts, the teams' levels; the service
page's card; the fix links open the service form at the step that fixes the rule."""

import re

import pytest
from django.test import Client

from portal.catalog.models import Membership, Traffic
from portal.users.models import User

from .world import GOLD, make_ready, register

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(gold, team) -> Client:
    silver = make_ready(register("ledger-sp", **{**GOLD, "tier": 3}))
    Traffic.objects.filter(service=silver).update(mtls="PERMISSIVE")
    client = Client()
    client.force_login(User.objects.get(username="alice"))
    return client


def rows(html: str) -> list[str]:
    """The services of the scorecards table, in order."""
    table = html.split('class="stack scorecards"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<td data-label="Service"><a [^>]*>([^<]+)</a>', table)


def test_the_page_lists_services_sorted_on_the_server(browser):
    response = browser.get("/scorecards/")
    html = response.content.decode()
    assert response.status_code == 200
    assert rows(html) == ["ledger-sp", "ledger"]  # worst level first
    assert 'aria-sort="ascending"><a href="?sort=-level">Level' in html
    assert '<a href="?sort=service">Service</a>' in html
    assert rows(browser.get("/scorecards/?sort=-level").content.decode()) == ["ledger", "ledger-sp"]
    assert rows(browser.get("/scorecards/?sort=service").content.decode()) == ["ledger", "ledger-sp"]
    assert 'aria-current="page">Scorecards</a>' in html


def test_the_page_counts_each_rule_and_shows_team_levels(browser):
    html = browser.get("/scorecards/").content.decode().split('id="rules-heading"', 1)[1]
    mtls = html.split("<code>mtls-strict</code>", 1)[1].split("</tr>", 1)[0]
    assert '<td data-label="Pass">1</td>' in mtls
    assert '<a href="?failing=mtls-strict" aria-label="1 failing mtls-strict">1</a>' in mtls
    oncall = html.split("<code>oncall-rotation</code>", 1)[1].split("</tr>", 1)[0]
    assert '<td data-label="N/A">1</td>' in oncall
    teams = html.split('id="teams-heading"', 1)[1]
    assert re.search(r"payments</a></td>\s*<td data-label=\"Level\"><span class=\"badge level-silver\">", teams)


def test_filters(browser):
    assert rows(browser.get("/scorecards/?failing=mtls-strict").content.decode()) == ["ledger-sp"]
    assert rows(browser.get("/scorecards/?level=gold").content.decode()) == ["ledger"]
    assert rows(browser.get("/scorecards/?team=nobody").content.decode()) == []
    response = browser.get("/scorecards/?level=platinum")
    assert response.status_code == 200
    assert "level: Select a valid choice. platinum is not one of the available choices." in response.content.decode()


def test_the_service_page_shows_its_card(browser):
    html = browser.get("/services/ledger-sp/").content.decode()
    card = html.split('id="scorecard-heading"', 1)[1].split("</section>", 1)[0]
    assert "Production readiness: " in card and "level-silver" in card
    assert "8 passed, 1 failed, 2 not applicable." in card
    mtls = card.split("<code>mtls-strict</code>", 1)[1].split("</tr>", 1)[0]
    assert "outcome-fail" in mtls and "mTLS is PERMISSIVE." in mtls and "PERMISSIVE also admits" in mtls
    assert '<a href="/services/ledger-sp/edit/?step=traffic">Fix mtls strict</a>' in mtls
    oncall = card.split("<code>oncall-rotation</code>", 1)[1].split("</tr>", 1)[0]
    assert "outcome-na" in oncall and "Applies to tier 1–2 services only." in oncall


def test_a_fix_link_opens_the_form_at_its_step(browser):
    html = browser.get("/services/ledger-sp/edit/?step=traffic").content.decode()
    assert "Step 3 of 5: Traffic" in html
    assert "Step 1 of 5: Basics" in browser.get("/services/ledger-sp/edit/?step=nonsense").content.decode()


def test_anyone_signed_in_reads_scorecards(browser):
    outsider = Client()
    outsider.force_login(User.objects.create(username="mallory"))
    assert not Membership.objects.filter(user__username="mallory").exists()
    assert rows(outsider.get("/scorecards/").content.decode()) == ["ledger-sp", "ledger"]
    assert Client().get("/scorecards/").status_code == 302


def test_the_team_page_shows_the_teams_level(browser):
    html = browser.get("/teams/payments/").content.decode()
    level = html.split('id="team-level"', 1)[1].split("</p>", 1)[0]
    assert "level-silver" in level
    assert "the lowest level of its 2 active services (gold 1, silver 1, bronze 0, no level 0)." in level
    assert '<a href="/scorecards/?team=payments">Scorecards of payments</a>' in level
