"""A person in a real browser: signs in, registers a service through the form in steps, reads the plan, applies
it and watches a real Celery worker carry it out, then finds the service in the list and fixes what its scorecard
shows failing. Debian's chromium through Playwright, against the live server; the AWS half goes to the moto
sandbox, the Kubernetes half to a gitops tree. Screenshots of each step land in test-artifacts/browser/."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from portal.catalog.models import PlatformSettings, Service
from portal.users.models import User
from provisioning.choices import RunStatus
from provisioning.models import ProvisioningRun

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Every visible form control has a name a screen reader can read out.
UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden' && !el.hidden && el.getClientRects().length)
  .filter(el => !(el.labels && el.labels.length))
  .filter(el => !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
  .map(el => el.name || el.id || el.outerHTML)"""
IMAGES_WITHOUT_ALT = "() => [...document.querySelectorAll('img:not([alt])')].map(el => el.src)"
OVERFLOWS = "() => document.documentElement.scrollWidth > window.innerWidth + 1"


# How Chromium reports what the Content-Security-Policy blocked.
CSP_VIOLATION = re.compile(r"Content Security Policy|Refused to")


@pytest.fixture
def csp_violations() -> list[str]:
    """Console messages about anything the page's Content-Security-Policy blocked: there must be none."""
    return []


@pytest.fixture
def browser_page(csp_violations):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.on(
            "console",
            lambda message: (
                csp_violations.append(f"{page.url}: {message.text}") if CSP_VIOLATION.search(message.text) else None
            ),
        )
        yield page
        context.close()
        browser.close()


def shot(page: Page, number: int, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{number:02d}-{name}.png"), full_page=True)


def check_accessibility(page: Page, where: str) -> None:
    assert page.evaluate(UNLABELLED) == [], f"unlabelled inputs on {where}"
    assert page.evaluate(IMAGES_WITHOUT_ALT) == [], f"images without alt text on {where}"
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.locator("main#main")).to_have_count(1)
    expect(page.locator("nav[aria-label='Main']")).to_have_count(1)


def check_skip_link(page: Page) -> None:
    """The first Tab lands on a visible "Skip to content" link that moves focus to the main content."""
    page.locator("body").focus()
    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    expect(focused).to_have_text("Skip to content")
    box = focused.bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0, "the focused skip link is off screen"
    page.keyboard.press("Enter")
    assert page.evaluate("() => location.hash") == "#main"


def test_register_plan_apply_and_find_a_service(
    live_server, team, start_worker, browser_page, csp_violations, monkeypatch
):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the test reads the database between browser steps
    PlatformSettings.load()
    User.objects.create_user("alice", password="correct-horse-battery")
    team.memberships.create(user=User.objects.get(username="alice"), role="member")
    worker = start_worker()
    page = browser_page
    url = live_server.url

    # 1. Sign in with a local account.
    page.goto(f"{url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    check_skip_link(page)
    check_accessibility(page, "the sign-in page")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Welcome, alice")).to_be_visible()
    check_accessibility(page, "the home page")
    shot(page, 1, "signed-in")

    # 2. Register a service through the form in steps; a mistake is caught on its own step, by name.
    page.get_by_role("link", name="Register a service").click()
    expect(page.get_by_role("heading", name="Step 1 of 5: Basics")).to_be_visible()
    check_accessibility(page, "the basics step")
    page.get_by_label("Name", exact=True).fill("Shop API")
    page.get_by_label("Description").focus()  # leaving the field checks it, inline
    expect(page.locator("#id_name-errors")).to_contain_text("Must be a DNS-1123 label")
    page.get_by_label("Description").fill("The shop's API")
    page.get_by_role("button", name="Next: Exposure").click()
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("Name: Must be a DNS-1123 label")
    expect(page.locator("#id_name-errors")).to_contain_text("DNS-1123")
    shot(page, 2, "form-error")
    page.get_by_label("Name", exact=True).fill("shop-api")
    page.get_by_label("Name", exact=True).press("Enter")  # Enter goes to the next step
    expect(page.get_by_role("heading", name="Step 2 of 5: Exposure")).to_be_visible()
    check_accessibility(page, "the exposure step")
    page.get_by_role("button", name="Next: Traffic").click()
    expect(page.get_by_role("heading", name="Step 3 of 5: Traffic")).to_be_visible()
    expect(page.get_by_text("Istio has no “least response time” balancer")).to_be_visible()
    page.get_by_label("Least request").check()
    page.get_by_label("Request timeout (seconds)").fill("5")
    check_accessibility(page, "the traffic step")
    shot(page, 3, "form-traffic")
    page.get_by_role("button", name="Next: Telemetry").click()
    expect(page.get_by_role("heading", name="Step 4 of 5: Telemetry")).to_be_visible()
    page.get_by_label("Grafana dashboard").check()
    page.get_by_role("button", name="Next: Review").click()
    expect(page.get_by_role("heading", name="Step 5 of 5: Review")).to_be_visible()
    document = page.get_by_label("The service document")
    expect(document).to_contain_text("name: shop-api")
    expect(document).to_contain_text("load_balancer: least_request")
    expect(document).to_contain_text("dashboard: true")
    shot(page, 4, "form-review")
    page.get_by_role("button", name="Register service").click()
    expect(page.get_by_role("heading", name="Service shop-api")).to_be_visible()
    expect(page.locator(".messages")).to_contain_text("Service shop-api is registered")
    assert Service.objects.get(name="shop-api").traffic.load_balancer == "least_request"
    check_accessibility(page, "the service page")
    shot(page, 5, "service")

    # 3. Read the plan: Kubernetes and AWS, what is created, field by field.
    page.get_by_role("button", name="Plan changes").click()
    expect(page.get_by_role("heading", name=re.compile(r"Plan #\d+ for shop-api"))).to_be_visible()
    expect(page.get_by_role("heading", name="Kubernetes")).to_be_visible()
    expect(page.get_by_role("heading", name="AWS")).to_be_visible()
    created = page.locator("details.change.create .resource")
    expect(created.filter(has_text=re.compile("^Namespace shop-api$"))).to_have_count(1)
    expect(created.filter(has_text=re.compile("^logs.LogGroup /eks/sandbox/payments/shop-api$"))).to_have_count(1)
    page.locator("summary").filter(has_text="DestinationRule shop-api/shop-api").click()
    expect(page.get_by_role("cell", name="spec.trafficPolicy.loadBalancer.simple")).to_be_visible()
    shot(page, 6, "plan")

    # 4. Apply; 5. watch the steps turn green until the run succeeds.
    page.get_by_role("button", name="Apply this plan").click()
    expect(page.get_by_role("heading", name=re.compile(r"Run #\d+: apply shop-api"))).to_be_visible()
    shot(page, 7, "run-started")
    progress = page.locator("#run-progress")
    try:
        expect(progress).to_have_attribute("data-status", re.compile("succeeded|failed"), timeout=45_000)
    except AssertionError:
        raise AssertionError(f"the run did not finish:\n{worker.output()[-4000:]}") from None
    run = ProvisioningRun.objects.get(service__name="shop-api")
    assert run.status == RunStatus.SUCCEEDED, f"{run.error}\n{worker.output()[-4000:]}"
    expect(progress.locator("#run-status")).to_contain_text("Succeeded")
    steps = progress.locator(".step-list li")
    assert steps.count() == run.steps.count() > 5
    expect(progress.locator(".step-list li[data-status='succeeded']")).to_have_count(steps.count())
    expect(progress).to_contain_text("Done. Every step succeeded.")
    shot(page, 8, "run-succeeded")

    # The resource graph of what was just provisioned, drawn as an inline picture with a name.
    page.get_by_role("link", name="shop-api", exact=True).click()
    page.get_by_role("link", name="Resource graph").click()
    expect(page.get_by_role("img", name="Resources of shop-api")).to_be_visible()
    check_accessibility(page, "the resource graph")
    shot(page, 9, "graph")

    # 6. Find the service in the list, with its last run, also on a narrow screen.
    page.get_by_role("link", name="Services", exact=True).click()
    page.get_by_label("Search").fill("shop")
    page.get_by_role("button", name="Filter").click()
    row = page.locator("#service-results tbody tr").filter(has_text="shop-api")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Succeeded")
    check_accessibility(page, "the service list")
    shot(page, 10, "service-list")
    page.set_viewport_size({"width": 375, "height": 800})
    expect(row).to_be_visible()
    assert not page.evaluate(OVERFLOWS), "the service list scrolls sideways on a narrow screen"
    shot(page, 11, "service-list-narrow")
    page.goto(f"{url}/services/shop-api/edit/")
    assert not page.evaluate(OVERFLOWS), "the form scrolls sideways on a narrow screen"
    shot(page, 12, "form-narrow")

    # The API's docs (Swagger UI) draw themselves under the same policy.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{url}/api/docs/")
    expect(page.get_by_role("heading", name=re.compile("Platform portal API"))).to_be_visible()
    expect(page.locator(".opblock").first).to_be_visible()
    shot(page, 13, "api-docs")

    # 7. The scorecards: each service's production readiness in a table sorted on the server, then the service's
    # card, whose failing rules link to where they are fixed.
    page.goto(f"{url}/")
    page.get_by_role("link", name="Scorecards", exact=True).click()
    expect(page.get_by_role("heading", name="Production readiness")).to_be_visible()
    row = page.locator("table.scorecards tbody tr").filter(has_text="shop-api")
    expect(row.locator("td[data-label='Level']")).to_have_text("○ No level")
    expect(row.get_by_role("link", name="runbook", exact=True)).to_be_visible()
    rules = page.locator("section[aria-labelledby='rules-heading'] tbody tr")
    expect(rules.filter(has_text="apply-succeeded").locator("td[data-label='Pass']")).to_have_text("1")
    check_accessibility(page, "the scorecards")
    page.get_by_role("link", name="Service", exact=True).click()
    expect(page).to_have_url(re.compile(r"/scorecards/\?sort=service$"))
    expect(page.locator("th[aria-sort='ascending']")).to_contain_text("Service")
    shot(page, 14, "scorecards")
    row.get_by_role("link", name="shop-api").click()
    card = page.locator("#scorecard")
    expect(card.get_by_role("heading", name=re.compile("Production readiness"))).to_be_visible()

    def rule_row(rule_id: str):
        return card.locator("tbody tr").filter(has=page.locator("code", has_text=re.compile(f"^{rule_id}$")))

    expect(rule_row("apply-succeeded").locator("td[data-label='Result']")).to_have_text("✓ Pass")
    expect(rule_row("oncall-rotation").locator("td[data-label='Result']")).to_have_text("– N/A")
    expect(rule_row("runbook").locator("td[data-label='Result']")).to_have_text("✗ Fail")
    check_accessibility(page, "the service's scorecard")
    shot(page, 15, "service-scorecard")
    rule_row("runbook").get_by_role("link", name="Fix runbook").click()
    expect(page.get_by_role("heading", name="Step 1 of 5: Basics")).to_be_visible()
    page.get_by_label("Runbook URL").fill("https://wiki.example.com/runbooks/shop-api")
    page.get_by_role("button", name="5. Review").click()
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", name="Service shop-api")).to_be_visible()
    expect(rule_row("runbook").locator("td[data-label='Result']")).to_have_text("✓ Pass")
    expect(rule_row("runbook")).to_contain_text("https://wiki.example.com/runbooks/shop-api")
    assert Service.objects.get(name="shop-api").runbook_url == "https://wiki.example.com/runbooks/shop-api"
    page.set_viewport_size({"width": 375, "height": 800})
    page.get_by_role("link", name="Scorecards", exact=True).click()
    # The list's own table (the service page it leaves has a "Production readiness" heading too): it has loaded.
    expect(page.locator("table.scorecards")).to_be_visible()
    assert not page.evaluate(OVERFLOWS), "the scorecards scroll sideways on a narrow screen"
    shot(page, 16, "scorecards-narrow")

    # Nothing on any page was blocked by the Content-Security-Policy (inline script, style or handler).
    assert csp_violations == [], "\n".join(csp_violations)
