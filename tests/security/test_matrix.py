"""The authorization matrix (``matrix.py``) as tests: every cell, through the real ways of signing in; and the
table's completeness: every URL pattern of the project, and every method an API view answers, has a row."""

import json
from collections import defaultdict
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from rest_framework.authtoken.models import TokenProxy

from provisioning.models import ManagedResource, RunStep

from .conftest import build_world
from .matrix import ADMIN_MODEL, EXCLUDED, MATRIX, ROLES, SRE, Entry, Outcome

ADMIN_VIEWS = ("changelist", "add", "history", "delete", "change")


# --- every cell ------------------------------------------------------------------------------------------


def fill(template, values: dict):
    """Put the fixtures' names, ids and tokens into a path or a body."""
    if isinstance(template, str):
        return template.format_map(values)
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template


def call(world, entry: Entry, role: str, values: dict):
    path = fill(entry.path, values)
    api = path.startswith("/api/")
    client = world.client(role, api=api)
    body = entry.body(world) if callable(entry.body) else entry.body
    kwargs = {}
    if body is not None:
        body = fill(body, values)
        kwargs = {"data": json.dumps(body), "content_type": "application/json"} if api else {"data": body}
    return getattr(client, entry.method.lower())(path, **kwargs)


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def check(response, outcome: Outcome, where: str) -> None:
    body = body_of(response)
    detail = f"{where}: {response.status_code} {response.get('Location', '')} {body[:300]!r}"
    if outcome.to_login is not None:
        assert response.status_code in (301, 302, 303), f"expected {outcome}; {detail}"
        target = urlsplit(response["Location"]).path
        to_login = target in (reverse("account_login"), reverse("admin:login"))
        assert to_login is outcome.to_login, f"expected {outcome}; {detail}"
        return
    assert response.status_code == outcome.status, f"expected {outcome}; {detail}"
    if outcome.text:
        assert outcome.text in body.decode(), f"expected {outcome}; {detail}"


def admin_object(model, world):
    """One row of the model for its admin pages (made up when the world has none)."""
    if model is TokenProxy:
        return world.users[SRE]  # the token admin finds a token by its user
    row = model.objects.order_by("pk").first()
    if row is not None:
        return row
    make = {
        Group: lambda: Group.objects.create(name="readers"),
        IntervalSchedule: lambda: IntervalSchedule.objects.create(every=10, period=IntervalSchedule.SECONDS),
        CrontabSchedule: lambda: CrontabSchedule.objects.create(),
        SolarSchedule: lambda: SolarSchedule.objects.create(event="sunrise", latitude=35, longitude=139),
        ClockedSchedule: lambda: ClockedSchedule.objects.create(clocked_time=timezone.now()),
        PeriodicTask: lambda: PeriodicTask.objects.create(
            name="matrix", task="provisioning.reap_runs", interval=admin_object(IntervalSchedule, world)
        ),
        EmailAddress: lambda: EmailAddress.objects.create(user=world.newcomer, email="nina@example.com"),
        SocialApp: lambda: SocialApp.objects.create(
            provider="openid_connect", provider_id="idp", name="IdP", client_id="portal"
        ),
        SocialAccount: lambda: SocialAccount.objects.create(user=world.newcomer, provider="sso", uid="nina"),
        SocialToken: lambda: SocialToken.objects.create(
            app=admin_object(SocialApp, world), account=admin_object(SocialAccount, world), token="-"
        ),
        RunStep: lambda: RunStep.objects.create(run=world.run, position=0, provider="kubernetes", kind="Namespace"),
        ManagedResource: lambda: ManagedResource.objects.create(
            key="kubernetes|v1|Namespace||ledger", scope="service:ledger", provider="kubernetes", kind="Namespace"
        ),
    }
    return make[model]()


def admin_outcome(outcome: Outcome, entry: Entry, model_admin, obj, user) -> Outcome:
    if outcome is not ADMIN_MODEL:
        return outcome
    request = RequestFactory().get("/admin/")
    request.user = user
    allowed = (
        model_admin.has_add_permission(request)
        if entry.path.endswith("/add/")
        else model_admin.has_delete_permission(request, obj)
    )
    return Outcome(200 if allowed else 403)


@pytest.fixture(scope="module")
def matrix_world(django_db_setup, django_db_blocker):
    """One world for every case, made once in a transaction that stays open: each case runs in a savepoint of
    its own (pytest-django's ``db``), rolled back after it, and the world with it at the end."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("entry", MATRIX, ids=lambda e: e.id)
def test_matrix(entry: Entry, role: str, matrix_world, gitops):
    world = matrix_world
    values = world.values()
    outcome = entry.expect[role]
    if not entry.per_admin_model:
        check(call(world, entry, role, values), outcome, f"{entry.id} as {role}")
        return
    for model, model_admin in admin.site._registry.items():
        obj = admin_object(model, world)
        where = {"app": model._meta.app_label, "model": model._meta.model_name, "pk": obj.pk}
        expected = admin_outcome(outcome, entry, model_admin, obj, world.users.get(role))
        check(call(world, entry, role, values | where), expected, f"{fill(entry.path, where)} as {role}")


# --- the table is complete ---------------------------------------------------------------------------------


def url_patterns(patterns=None, prefix: str = "", namespace: str = ""):
    """(pattern text, name with its namespace, pattern) of every URL the project routes, includes expanded."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(n for n in (namespace, pattern.namespace or "") if n)
            yield from url_patterns(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield prefix + str(pattern.pattern), name, pattern


def route_key(text: str, name: str | None) -> str:
    """The matrix's name for a URL pattern: its name, else its text; for a page the admin makes for every
    model (``admin:catalog_team_change``), the kind of page (``admin:*_change``)."""
    for model in admin.site._registry:
        app, model_name = model._meta.app_label, model._meta.model_name
        if name in {f"admin:{app}_{model_name}_{kind}" for kind in ADMIN_VIEWS}:
            return f"admin:*_{name.rsplit('_', 1)[1]}"
        if name is None and text == f"admin/{app}/{model_name}/<path:object_id>/":
            return "admin:*_object"
    return name or text


def answered_methods(pattern: URLPattern) -> set[str]:
    """The HTTP methods a DRF view answers (besides OPTIONS and HEAD); empty for a plain Django view."""
    view_class = getattr(pattern.callback, "cls", None)
    if view_class is None:
        return set()
    allowed = set(view_class.http_method_names) - {"options", "head"}
    actions = getattr(pattern.callback, "actions", None)
    offered = set(actions) if actions else {m for m in allowed if hasattr(view_class, m)}
    return {m.upper() for m in offered & allowed}


def route_of(entry: Entry) -> str:
    """The URL pattern a row's path resolves to, by the matrix's name for it."""
    sample = defaultdict(lambda: "1", app="catalog", model="team")
    match = resolve(urlsplit(fill(entry.path, sample)).path)
    return route_key(match.route, match.view_name if match.url_name else None)


def test_every_url_pattern_and_api_method_has_a_row():
    rows = {(route_of(e), e.method) for e in MATRIX}
    routes = {route for route, _ in rows}
    missing = []
    for text, name, pattern in url_patterns():
        key = route_key(text, name)
        if key in EXCLUDED:
            continue
        if key not in routes:
            missing.append(f"{text} (named {name!r}): no row")
            continue
        missing += [f"{text}: no {method} row" for method in answered_methods(pattern) if (key, method) not in rows]
    assert not missing, "the authorization matrix lacks:\n  " + "\n  ".join(sorted(set(missing)))


def test_exclusions_are_real_patterns_and_say_why():
    keys = {route_key(text, name) for text, name, _ in url_patterns()}
    assert set(EXCLUDED) <= keys
    assert all(reason.strip() for reason in EXCLUDED.values())
