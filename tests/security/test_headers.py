"""Hardening: the security headers on pages and API answers, production's HSTS and cookies, and pages that
keep to the Content-Security-Policy: no inline script, style or event handler anywhere, the admin included."""

import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib import admin
from django.test import Client

from .matrix import MATRIX, SRE, Outcome
from .test_matrix import admin_object, body_of, call, fill

ROOT = Path(__file__).resolve().parents[2]
POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'self'",
    "object-src": "'none'",
}
# <script> elements that hold data, not code: the browser runs none of them.
DATA_SCRIPTS = {"application/json", "application/ld+json", "text/template"}


def policy_of(response) -> dict[str, str]:
    directives = (d.strip().split(None, 1) for d in response["Content-Security-Policy"].split(";") if d.strip())
    return {d[0]: d[1] if len(d) > 1 else "" for d in directives}


def assert_hardened(response) -> None:
    assert policy_of(response) == POLICY
    assert "unsafe-" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
def test_pages_and_api_answers_carry_the_security_headers(world):
    assert_hardened(world.client(SRE, api=False).get("/"))
    assert_hardened(world.client(SRE, api=True).get("/api/v1/teams/"))
    assert_hardened(Client().get("/accounts/login/"))
    assert_hardened(Client().get("/api/v1/teams/"))  # a 401, too
    assert_hardened(world.client(SRE, api=False).get("/admin/"))


@pytest.mark.django_db
def test_the_downloadable_graph_may_load_nothing(world):
    response = world.client(SRE, api=False).get(f"/services/{world.service.name}/graph.svg")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


def settings_of(module: str, names: list[str], **environment: str) -> dict:
    """Settings as a fresh process with this environment computes them."""
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PORTAL_"))}
    env |= {"DJANGO_SETTINGS_MODULE": module, **environment}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(result.stdout)


def test_production_sends_hsts_and_keeps_cookies_to_https():
    expected = {
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SECURE": True,
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        "SECURE_CROSS_ORIGIN_OPENER_POLICY": "same-origin",
        "PORTAL_TRUSTED_PROXY_COUNT": 1,
    }
    production = settings_of(
        "portal.settings.production",
        list(expected),
        DJANGO_SECRET_KEY="p" * 50,
        DATABASE_URL="postgres://portal@127.0.0.1:5432/portal",
        REDIS_URL="redis://127.0.0.1:6379/0",
        DJANGO_ALLOWED_HOSTS="portal.example.com",
        PORTAL_ENCRYPTION_KEYS="cHJvZHVjdGlvbi1rZXktZm9yLXRoZS1kZXBsb3ktY2g=",
    )
    assert production == expected


def test_the_sign_in_form_may_go_on_to_the_idp():
    """The SSO button posts to the portal, which redirects to the IdP: form-action must allow that origin."""
    policy = settings_of(
        "portal.settings.test", ["CONTENT_SECURITY_POLICY"], PORTAL_OIDC_ISSUER="https://idp.example.com/realms/corp"
    )["CONTENT_SECURITY_POLICY"]
    assert policy["DIRECTIVES"]["form-action"] == ["'self'", "https://idp.example.com"]
    assert policy["DIRECTIVES"]["script-src"] == ["'self'"]


# --- no inline code or style ----------------------------------------------------------------------------


class InlineMarkup(HTMLParser):
    """What a CSP without 'unsafe-inline' blocks: inline <script> and <style>, style and on* attributes,
    javascript: URLs."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._script: str | None = None
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}={value!r}>")
        if tag == "style":
            self.found.append("<style> element")
        if tag == "script" and not a.get("src") and (a.get("type") or "").lower() not in DATA_SCRIPTS:
            self._script = ""

    def handle_data(self, data):
        if self._script is not None:
            self._script += data

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.found.append(f"inline <script>: {self._script.strip()[:80]!r}")
            self._script = None


def inline_markup(response) -> list[str]:
    kind = response.get("Content-Type", "")
    if not kind.startswith(("text/html", "image/svg+xml")):
        return []
    return InlineMarkup(body_of(response).decode()).found


def pages_for_an_sre():
    """Every page of the matrix an SRE may open (GET, 200), each admin page for every model."""
    for entry in MATRIX:
        if entry.method == "GET" and entry.expect[SRE] in (Outcome(200), Outcome(0)):
            yield entry


@pytest.mark.django_db
def test_no_page_holds_inline_script_style_or_handlers(world):
    values = world.values()
    offenders = {}
    for entry in pages_for_an_sre():
        if entry.per_admin_model:
            for model in admin.site._registry:
                obj = admin_object(model, world)
                where = {"app": model._meta.app_label, "model": model._meta.model_name, "pk": obj.pk}
                response = call(world, entry, SRE, values | where)
                if found := inline_markup(response):
                    offenders[fill(entry.path, values | where)] = found
        elif found := inline_markup(call(world, entry, SRE, values)):
            offenders[fill(entry.path, values)] = found
    assert not offenders, json.dumps(offenders, indent=1)


@pytest.mark.django_db
def test_form_steps_error_pages_and_fragments_hold_none_either(world):
    """Pages the matrix reaches only by a step or a refusal: the service form's steps, 403 and 404, htmx."""
    sre, member_b = world.client(SRE, api=False), world.client("member_b", api=False)
    responses = [
        member_b.get("/approvals/"),
        sre.get("/services/no-such-service/"),
        sre.post("/register/", {"step": "review", "action": "save", "name": "Bad Name", "team": "team-a"}),
        sre.get("/admin/login/"),
        sre.get(f"/admin/catalog/team/{world.team_a.pk}/change/"),
        sre.get("/admin/catalog/platformsettings/1/change/"),
    ]
    for step in ("exposure", "traffic", "telemetry", "review"):
        responses.append(sre.post("/register/", {"step": "basics", "action": f"goto:{step}", "team": "team-a"}))
    responses.append(sre.get(f"/runs/{world.run.pk}/progress/", headers={"HX-Request": "true"}))
    graph = sre.get(f"/services/{world.service.name}/graph/")
    assert "<svg" in graph.content.decode(), "the resource graph is drawn inline (Graphviz, its styles stripped)"
    responses.append(graph)
    assert {r.status_code for r in responses} <= {200, 302, 403, 404}
    offenders = [(r.request["PATH_INFO"], found) for r in responses if (found := inline_markup(r))]
    assert not offenders
