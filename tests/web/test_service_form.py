"""The service form in steps: each step validates through ServiceSerializer and shows its own fields' errors;
the review saves the whole document; an edit based on an old revision saves nothing and loses nothing."""

import re

import pytest
from django.urls import reverse

from portal.catalog.api.serializers import ServiceSerializer
from portal.catalog.documents import current_document, merge_patch
from portal.catalog.models import Service, Team
from portal.catalog.services import update_service

from .browserlike import form_values
from .conftest import register

pytestmark = pytest.mark.django_db

CREATE = "/register/"


class Wizard:
    """Drives the form like a browser: reads every value the page holds, changes some, presses a button."""

    def __init__(self, client, url: str = CREATE, htmx: bool = False):
        self.client, self.url = client, url
        self.headers = {"HX-Request": "true"} if htmx else {}
        self.response = client.get(url)
        assert self.response.status_code == 200, self.response.content[:300]

    @property
    def page(self) -> str:
        return self.response.content.decode()

    @property
    def step(self) -> str:
        return re.search(r'<span aria-current="step">\d\. (\w+)</span>', self.page).group(1)

    def press(self, action: str = "next", **changes) -> "Wizard":
        values = form_values(self.page, "service-form") | {k: v for k, v in changes.items() if v is not None}
        for name in [k for k, v in changes.items() if v is None]:
            values.pop(name, None)  # an unticked checkbox sends nothing
        self.response = self.client.post(self.url, {**values, "action": action}, headers=self.headers)
        return self

    def field_errors(self, field: str) -> list[str]:
        block = re.search(rf'<div id="id_{field}-errors"[^>]*>(.*?)</div>', self.page, re.S)
        return re.findall(r"<p>(.*?)</p>", block.group(1)) if block else []


@pytest.fixture
def wizard(client_for, member, platform):
    return Wizard(client_for(member))


def test_the_form_starts_from_the_api_defaults(wizard):
    assert wizard.step == "Basics"
    values = form_values(wizard.page, "service-form")
    assert values["team"] == "payments"
    assert values["port"] == "8080" and values["mesh"] == "on"
    assert values["level"] == "mesh" and values["paths"] == "/"
    assert values["load_balancer"] == "round_robin" and values["mtls"] == "STRICT"
    assert values["access_logging"] == "true" and values["log_retention_days"] == "30"


def test_each_step_shows_the_errors_of_its_own_fields_by_name(wizard):
    wizard.press(name="Payments API", port="http")
    assert wizard.step == "Basics"
    assert any("DNS-1123 label" in e for e in wizard.field_errors("name"))
    assert wizard.field_errors("port") == ["A valid integer is required."]
    summary = re.search(r'<div class="error-summary".*?</div>', wizard.page, re.S).group(0)
    assert '<a href="#id_name">Name</a>: Must be a DNS-1123 label' in summary
    assert '<a href="#id_port">Port</a>: A valid integer is required.' in summary
    assert 'aria-invalid="true"' in wizard.page

    wizard.press(name="payments-api", port="8080")
    assert wizard.step == "Exposure"
    wizard.press(level="internal")
    assert wizard.step == "Exposure"
    assert wizard.field_errors("hostnames") == [
        "An &#x27;internal&#x27; service needs at least one hostname under internal.example.com."
    ]
    wizard.press(level="internal", hostnames="pay.example.com\nPay.internal.example.com")
    assert wizard.field_errors("hostnames") == [
        "&#x27;pay.example.com&#x27; must lie under internal.example.com for &#x27;internal&#x27;; it belongs to "
        "the example.com zone."
    ]
    wizard.press(hostnames="pay.internal.example.com")
    assert wizard.step == "Traffic"

    wizard.press(
        load_balancer="consistent_hash", timeout_seconds="1", retries_attempts="2", retries_per_try_timeout_seconds="5"
    )
    assert wizard.step == "Traffic"
    assert "consistent_hash needs hash_on" in wizard.field_errors("hash_on")[0]
    assert wizard.field_errors("retries_per_try_timeout_seconds") == ["Must not exceed timeout_seconds."]
    wizard.press(hash_on="header:x-user", retries_per_try_timeout_seconds="0.5")
    assert wizard.step == "Telemetry"

    wizard.press(log_retention_days="31", slo_availability="80")
    assert wizard.step == "Telemetry"
    assert "31 is not a retention CloudWatch Logs accepts" in wizard.field_errors("log_retention_days")[0]
    assert wizard.field_errors("slo_availability") == ["Ensure this value is greater than or equal to 90."]
    wizard.press(log_retention_days="90", slo_availability="99.9")
    assert wizard.step == "Review"


def test_a_step_ignores_errors_that_belong_to_later_steps(wizard):
    wizard.press(name="tool", mesh=None)  # outside the mesh: the default STRICT mTLS is fine, no traffic errors
    assert wizard.step == "Exposure"
    wizard.press(level="external", hostnames="tool.example.com")
    assert wizard.step == "Exposure"
    assert "&#x27;external&#x27; needs the service in the mesh" in wizard.field_errors("level")[0]


def test_the_traffic_step_says_istio_has_no_least_response_time(wizard):
    wizard.press(name="api").press()
    assert wizard.step == "Traffic"
    assert "Istio has no “least response time” balancer; “Least request”" in wizard.page
    assert "is the closest" in wizard.page


def test_review_shows_the_whole_document_and_saves_it_in_one_go(wizard, member):
    register(name="checkout")
    register(name="frontend-sp")
    wizard.press(name="payments-api", description="Takes payments", lifecycle="production", tier="1")
    wizard.press(level="external", hostnames="Pay.Example.com")
    wizard.press("add_route")
    assert wizard.step == "Exposure"
    wizard.press(
        **{
            "routes-0-header": "User-Agent",
            "routes-0-match": "regex",
            "routes-0-value": ".*Mobile.*",
            "routes-0-service": "frontend-sp",
        }
    )
    wizard.press(
        load_balancer="least_request",
        canary_version="v2",
        canary_weight="10",
        allowed_callers="checkout",
        outlier_consecutive_5xx="5",
    )
    wizard.press(dashboard="on", slo_availability="99.9", slo_latency_p99_ms="300")
    assert wizard.step == "Review"
    assert "hostnames:\n  - pay.example.com" in wizard.page  # the document as it will be saved, normalised
    assert "regex: .*Mobile.*" in wizard.page and "service: frontend-sp" in wizard.page
    assert not Service.objects.filter(name="payments-api").exists()

    wizard.press("save")
    assert wizard.response.status_code == 302
    assert wizard.response["Location"] == reverse("catalog:service_detail", args=["payments-api"])
    saved = current_document(Service.objects.get(name="payments-api"))
    assert saved["created_at"]
    assert (saved["team"], saved["lifecycle"], saved["tier"]) == ("payments", "production", 1)
    assert saved["exposure"]["hostnames"] == ["pay.example.com"]
    assert saved["exposure"]["routes"] == [{"header": "user-agent", "regex": ".*Mobile.*", "service": "frontend-sp"}]
    assert saved["traffic"]["canary"] == {"version": "v2", "weight": 10, "stable_version": "v1"}
    assert saved["traffic"]["outlier_detection"]["consecutive_5xx"] == 5
    assert saved["traffic"]["allowed_callers"] == ["checkout"]
    assert saved["telemetry"]["slo"] == {"availability": 99.9, "latency_p99_ms": 300}
    assert Service.objects.get(name="payments-api").created_by == member


def test_going_back_keeps_what_was_typed(wizard):
    wizard.press(name="keep-me", description="typed once").press(level="internal", hostnames="k.internal.example.com")
    assert wizard.step == "Traffic"
    wizard.press("back")
    assert wizard.step == "Exposure"
    assert form_values(wizard.page, "service-form")["hostnames"] == "k.internal.example.com"
    wizard.press("goto:basics")
    assert form_values(wizard.page, "service-form")["description"] == "typed once"


def test_route_errors_land_on_the_route_row(wizard):
    wizard.press(name="api").press("add_route")
    wizard.press(**{"routes-0-header": "user-agent", "routes-0-value": "x", "routes-0-service": "nowhere"})
    assert wizard.step == "Exposure"
    assert wizard.field_errors("routes-0-service") == [
        "Service &#x27;nowhere&#x27; does not exist; a route can only point at a registered service."
    ]
    assert '<a href="#id_routes-0-service">Route 1: send to service</a>' in wizard.page


def test_saving_with_errors_elsewhere_shows_them_on_the_review(wizard):
    wizard.press(name="api").press().press().press()
    assert wizard.step == "Review"
    wizard.press("save", hash_on="cookie:session")  # a value the traffic step never validated
    assert wizard.response.status_code == 200
    assert wizard.step == "Review"
    assert "The service was not saved" in wizard.page
    assert "Only meaningful with load_balancer &#x27;consistent_hash&#x27;." in wizard.page
    assert 'value="goto:traffic"' in wizard.page
    assert not Service.objects.filter(name="api").exists()


def test_a_team_the_person_is_not_in_is_refused(client_for, member, platform):
    Team.objects.create(slug="checkout", name="Checkout")
    wizard = Wizard(client_for(member))
    wizard.press(name="sneaky", team="checkout")
    assert wizard.step == "Basics"
    assert wizard.field_errors("team") == ["You are not a member of team checkout; choose one of your teams."]


def test_people_without_a_team_are_told_how_to_get_one(client_for, outsider):
    page = client_for(outsider).get(CREATE).content.decode()
    assert "You are not a member of any team" in page
    assert '<form method="post" action="/register/"' not in page


def test_htmx_posts_get_the_wizard_fragment_and_a_redirect_header_when_saved(client_for, member, platform):
    wizard = Wizard(client_for(member), htmx=True)
    wizard.press(name="Bad")
    assert wizard.page.startswith('<div id="wizard">') and "<html" not in wizard.page
    assert "DNS-1123" in wizard.page
    wizard.press(name="frag").press().press().press()
    assert wizard.step == "Review"
    wizard.press("save")
    assert wizard.response.status_code == 204
    assert wizard.response["HX-Redirect"] == "/services/frag/"


def test_inline_validation_swaps_in_the_changed_fields_errors(client_for, member, platform):
    client = client_for(member)
    values = form_values(client.get(CREATE).content.decode(), "service-form")
    response = client.post(
        f"{CREATE}?validate=1",
        {**values, "name": "Not A Label", "port": "", "step": "basics"},
        headers={"HX-Request": "true", "HX-Trigger-Name": "name"},
    )
    html = response.content.decode()
    assert (
        '<div id="id_name-errors" class="field-errors" aria-live="polite" hx-swap-oob="true"><p>Must be a DNS-1123'
        in html
    )
    # the port is empty and not the field that changed: not shouted about yet
    assert '<div id="id_port-errors" class="field-errors" aria-live="polite" hx-swap-oob="true"></div>' in html


def test_edit_starts_from_the_saved_service_and_saves_a_new_revision(client_for, member, service):
    wizard = Wizard(client_for(member), reverse("catalog:service_edit", args=["ledger"]))
    values = form_values(wizard.page, "service-form")
    assert values["name"] == "ledger" and values["revision"] == "1" and values["description"] == "The ledger"
    assert re.search(r'<input type="text" name="name" value="ledger"[^>]*readonly', wizard.page)
    wizard.press(description="The general ledger").press().press(timeout_seconds="3").press().press("save")
    assert wizard.response.status_code == 302
    service.refresh_from_db()
    assert service.description == "The general ledger" and service.revision == 2
    assert service.traffic.timeout_seconds == 3


def test_a_stale_edit_saves_nothing_says_so_and_keeps_what_was_typed(client_for, member, service):
    wizard = Wizard(client_for(member), reverse("catalog:service_edit", args=["ledger"]))
    wizard.press(description="My careful rewrite").press(level="internal", hostnames="ledger.internal.example.com")

    # Meanwhile someone else saves the service.
    other = ServiceSerializer(service, data=merge_patch(current_document(service), {"traffic": {"timeout_seconds": 9}}))
    other.is_valid(raise_exception=True)
    update_service(service, other.validated_data)

    wizard.press().press().press("save")
    assert wizard.response.status_code == 200
    assert wizard.step == "Review"
    page = wizard.page
    assert "Someone else saved this service while you were editing" in page
    assert "You started from revision 1; the saved service is now at revision 2." in page
    assert "<strong>Nothing was saved</strong>" in page
    assert "<code>description</code>" in page and "<code>traffic.timeout_seconds</code>" in page
    values = form_values(page, "service-form")
    assert values["description"] == "My careful rewrite"
    assert values["hostnames"] == "ledger.internal.example.com"
    assert values["revision"] == "2"
    service.refresh_from_db()
    assert service.description == "The ledger" and service.revision == 2

    # Saving again, knowingly, keeps this person's version.
    wizard.press("save")
    assert wizard.response.status_code == 302
    service.refresh_from_db()
    assert service.description == "My careful rewrite" and service.revision == 3
    assert service.exposure.level == "internal"
