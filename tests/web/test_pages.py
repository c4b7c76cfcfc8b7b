"""Every page: signed-out visitors go to the sign-in page, signed-in people read, only the right people act."""

import pytest
from django.urls import reverse

from portal.catalog.models import Service, Team
from provisioning.choices import RunAction, RunStatus
from provisioning.models import Plan, ProvisioningRun
from provisioning.scopes import service_key

from .conftest import register

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(service, member):
    return ProvisioningRun.objects.create(
        scope=service_key(service.name), service=service, action=RunAction.APPLY, requested_by=member
    )


@pytest.fixture
def plan(service, member):
    return Plan.objects.create(
        scope=service_key(service.name),
        service=service,
        catalog_revision=service.revision,
        fingerprint="f" * 64,
        summary={"create": 1, "update": 1, "delete": 1, "unchanged": 1},
        changes=[
            {
                "action": "create",
                "provider": "kubernetes",
                "kind": "Namespace",
                "namespace": "",
                "name": "ledger",
                "diff": [{"path": "metadata.name", "old": None, "new": "ledger"}],
            },
            {
                "action": "update",
                "provider": "kubernetes",
                "kind": "DestinationRule",
                "namespace": "ledger",
                "name": "ledger",
                "diff": [{"path": "spec.trafficPolicy.loadBalancer.simple", "old": "RANDOM", "new": "ROUND_ROBIN"}],
            },
            {
                "action": "delete",
                "provider": "aws",
                "kind": "route53.Record",
                "namespace": "Z1",
                "name": "old.example.com",
                "diff": [],
            },
            {
                "action": "unchanged",
                "provider": "aws",
                "kind": "logs.LogGroup",
                "namespace": "",
                "name": "/eks/sandbox/payments/ledger",
                "diff": [],
            },
        ],
    )


def read_pages(service, run, plan) -> list[str]:
    return [
        reverse("home"),
        reverse("catalog:team_list"),
        reverse("catalog:team_detail", args=["payments"]),
        reverse("catalog:service_list"),
        reverse("catalog:service_detail", args=[service.name]),
        reverse("provisioning:run_list", args=[service.name]),
        reverse("provisioning:run_detail", args=[run.pk]),
        reverse("provisioning:run_progress", args=[run.pk]),
        reverse("provisioning:plan_detail", args=[plan.pk]),
        reverse("provisioning:manifests", args=[service.name]),
        reverse("provisioning:graph", args=[service.name]),
        reverse("provisioning:graph_svg", args=[service.name]),
    ]


def test_anonymous_visitors_are_sent_to_sign_in(client, service, run, plan):
    pages = [
        *read_pages(service, run, plan),
        reverse("catalog:service_create"),
        reverse("catalog:service_edit", args=[service.name]),
        reverse("catalog:team_edit", args=["payments"]),
        reverse("provisioning:approvals"),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(f"{reverse('account_login')}?next="), url


def test_anyone_signed_in_reads_every_page(client_for, outsider, service, run, plan):
    client = client_for(outsider)
    for url in read_pages(service, run, plan):
        response = client.get(url)
        assert response.status_code == 200, (url, response.content[:500])


def test_outsiders_may_not_change_plan_apply_or_delete(client_for, outsider, service, run):
    client = client_for(outsider)
    name = service.name
    posts = [
        reverse("catalog:service_edit", args=[name]),
        reverse("catalog:service_delete", args=[name]),
        reverse("catalog:team_edit", args=["payments"]),
        reverse("provisioning:plan_create", args=[name]),
        reverse("provisioning:apply", args=[name]),
        reverse("provisioning:drift_check", args=[name]),
        reverse("provisioning:run_cancel", args=[run.pk]),
        reverse("provisioning:approve", args=[run.pk]),
        reverse("provisioning:reject", args=[run.pk]),
    ]
    for url in posts:
        response = client.post(url, {"reason": "no", "action": "save"})
        assert response.status_code == 403, url
        assert "You may not do this" in response.content.decode(), url
    for url in (reverse("catalog:service_edit", args=[name]), reverse("provisioning:approvals")):
        assert client.get(url).status_code == 403, url
    assert not ProvisioningRun.objects.exclude(pk=run.pk).exists()
    assert Service.objects.get(name=name).revision == service.revision
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED


def test_a_403_says_who_may_act(client_for, outsider, service):
    response = client_for(outsider).post(reverse("provisioning:apply", args=[service.name]))
    assert response.status_code == 403
    assert "Only members of team payments and platform SREs may apply ledger" in response.content.decode()


def test_members_of_other_teams_cannot_move_a_service_into_a_team_they_are_not_in(client_for, member, service):
    Team.objects.create(slug="checkout", name="Checkout")
    client = client_for(member)
    page = client.get(reverse("catalog:service_create")).content.decode()
    assert 'value="checkout"' not in page  # only the member's own teams are offered


def test_home_shows_my_teams_services_and_last_run(client_for, member, service, run):
    page = client_for(member).get(reverse("home")).content.decode()
    assert "Payments" in page and "ledger" in page
    assert "Queued" in page
    assert "Waiting for an SRE" not in page


def test_home_shows_pending_approvals_to_sres(client_for, sre, member, service, run):
    ProvisioningRun.objects.filter(pk=run.pk).update(status=RunStatus.AWAITING_APPROVAL)
    page = client_for(sre).get(reverse("home")).content.decode()
    assert "Waiting for an SRE's approval (1)" in page
    assert f"#{run.pk}" in page


def test_team_page_shows_members_roles_services_and_a_masked_webhook(client_for, member, owner, service):
    page = client_for(member).get(reverse("catalog:team_detail", args=["payments"])).content.decode()
    assert "alice — member" in page and "olivia — owner" in page
    assert "ledger" in page
    assert "https://hooks.example.com/…" in page
    assert "/services/T0/B0/x" not in page
    assert "Edit team" not in page  # members are not owners


def test_owners_edit_the_team_through_the_api_rules(client_for, owner, team):
    client = client_for(owner)
    url = reverse("catalog:team_edit", args=["payments"])
    page = client.get(url).content.decode()
    assert "/services/T0/B0/x" not in page  # the webhook is never sent back to the browser
    response = client.post(url, {"name": "Payments", "slack_channel": "payments", "revision": team.revision})
    assert response.status_code == 200
    assert "A Slack channel is" in response.content.decode()
    response = client.post(
        url, {"name": "Payments team", "slack_channel": "#pay", "sso_group": "payments", "revision": team.revision}
    )
    assert response.status_code == 302
    team.refresh_from_db()
    assert (team.name, team.slack_channel, team.revision) == ("Payments team", "#pay", 2)
    # Left empty: kept.
    assert team.incident_alertmanager_url == "https://hooks.example.com/services/T0/B0/x"
    assert (team.incident_alertmanager_token, team.incident_sns_url) == (
        "am-token-x",
        "https://hooks.example.com/sns/T0/B0/x",
    )


def test_a_stale_team_edit_saves_nothing_and_keeps_the_typed_values(client_for, owner, team):
    client = client_for(owner)
    url = reverse("catalog:team_edit", args=["payments"])
    Team.objects.filter(pk=team.pk).update(revision=5, name="Changed elsewhere")
    response = client.post(url, {"name": "My new name", "slack_channel": "#pay", "revision": 1})
    assert response.status_code == 409
    page = response.content.decode()
    assert "Someone else changed team payments" in page
    assert 'value="My new name"' in page and 'value="5"' in page
    assert Team.objects.get(pk=team.pk).name == "Changed elsewhere"


def test_service_list_filters_with_the_shared_filterset(client_for, member, service):
    register(name="checkout-web", lifecycle="production")
    client = client_for(member)
    page = client.get(reverse("catalog:service_list"), {"q": "checkout"}).content.decode()
    assert "checkout-web" in page and ">ledger<" not in page
    page = client.get(reverse("catalog:service_list"), {"lifecycle": "experimental"}).content.decode()
    assert ">ledger<" in page and "checkout-web" not in page
    page = client.get(reverse("catalog:service_list"), {"team": "nobody"}).content.decode()
    assert "No service matches these filters." in page


def test_a_search_matching_several_hostnames_of_a_service_lists_it_once(client_for, member, service):
    register(
        name="shop",
        description="Storefront",
        exposure={"level": "external", "hostnames": ["shop.example.com", "shop-api.example.com"]},
    )
    client = client_for(member)
    found = client.get("/api/v1/services/", {"q": "shop-"}).json()
    assert (found["count"], [s["name"] for s in found["results"]]) == (1, ["shop"])  # by a hostname alone
    found = client.get("/api/v1/services/", {"q": ".example.com"}).json()
    assert (found["count"], [s["name"] for s in found["results"]]) == (1, ["shop"])  # two hostnames, one service
    found = client.get("/api/v1/services/", {"q": "LEDG"}).json()
    assert [s["name"] for s in found["results"]] == ["ledger"]
    page = client.get(reverse("catalog:service_list"), {"q": "example.com"}).content.decode()
    assert page.count('href="/services/shop/"') == 1 and ">ledger<" not in page


def test_plan_page_shows_every_change_by_provider_with_words_and_icons(client_for, member, plan):
    page = client_for(member).get(reverse("provisioning:plan_detail", args=[plan.pk])).content.decode()
    k8s, aws = page.index('id="provider-kubernetes"'), page.index('id="provider-aws"')
    assert k8s < aws
    assert 'class="badge status-create"><span aria-hidden="true">+</span> Create' in page
    assert 'class="badge status-update"><span aria-hidden="true">~</span> Update' in page
    assert 'class="badge status-delete"><span aria-hidden="true">−</span> Delete' in page
    assert "spec.trafficPolicy.loadBalancer.simple" in page
    assert "<del>RANDOM</del>" in page and "<ins>ROUND_ROBIN</ins>" in page
    assert "route53.Record Z1/old.example.com" in page and "will be deleted" in page
    assert "1 resource already as desired" in page
    assert "Apply this plan" in page


def test_manifests_hide_secret_values(client_for, member, team, platform):
    platform.slack_webhook_url = "https://hooks.slack.com/services/SECRET/TOKEN"
    platform.save()
    register(name="ledger")
    page = client_for(member).get(reverse("provisioning:manifests", args=["ledger"])).content.decode()
    assert "kind: Secret" in page and "kind: AlertmanagerConfig" in page
    assert "SECRET/TOKEN" not in page and "B0/x" not in page
    assert "/eks/sandbox/payments/ledger" in page


def test_graph_page_inlines_a_sanitised_svg_with_a_text_version(client_for, member, service):
    page = client_for(member).get(reverse("provisioning:graph", args=[service.name])).content.decode()
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page and 'role="img"' in page
    assert 'aria-label="Resources of ledger"' in page
    assert "Service ledger team payments → Namespace ledger (namespace)" in page
    assert "logs.LogGroup /eks/sandbox/payments/ledger" in page
    assert "Incident commander no one on call" in page
    svg = client_for(member).get(reverse("provisioning:graph_svg", args=[service.name]))
    assert svg["Content-Type"] == "image/svg+xml"
    assert "default-src 'none'" in svg["Content-Security-Policy"]
