"""Two requests at once claiming one name: both pass validation (neither sees the other's uncommitted row), the
database's unique index lets one through, and the other is answered with a 400 naming the field, not a 500, with
nothing of it saved. Real threads, each with its own PostgreSQL connection."""

import threading
from contextlib import contextmanager

import pytest
from django.db import connection, connections
from django.db.models.signals import pre_save
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from portal.audit.models import AuditEvent
from portal.catalog.models import Hostname, Membership, Service, Team
from portal.users.models import User

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serializes writers on one file lock)")


@pytest.fixture
def tokens(team, platform):
    keys = []
    for name in ("alice", "bob"):
        user = User.objects.create(username=name)
        Membership.objects.create(team=team, user=user, role="owner")
        keys.append(Token.objects.create(user=user).key)
    return keys


@contextmanager
def meeting_before_the_write(model):
    """Both requests wait for each other after validating, just before they insert: they always collide."""
    barrier = threading.Barrier(2, timeout=20)

    def wait(sender, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            barrier.wait()

    pre_save.connect(wait, sender=model, weak=False, dispatch_uid="test-meet")
    try:
        yield
    finally:
        pre_save.disconnect(sender=model, dispatch_uid="test-meet")


def at_once(requests: list[tuple[str, str, dict]]) -> list:
    """Send each (token, path, body) as a POST from its own thread; the responses in the same order."""
    responses: list = [None] * len(requests)

    def send(i: int, token: str, path: str, body: dict) -> None:
        try:
            client = APIClient(raise_request_exception=False)
            responses[i] = client.post(path, body, format="json", HTTP_AUTHORIZATION=f"Token {token}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(i, *r)) for i, r in enumerate(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return responses


def service(name: str, *hostnames: str) -> dict:
    return {"name": name, "team": "payments", "exposure": {"level": "internal", "hostnames": list(hostnames)}}


def split(responses) -> tuple:
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 400], [(r.status_code, r.content[:300]) for r in responses]
    won = next(r for r in responses if r.status_code == 201)
    lost = next(r for r in responses if r.status_code == 400)
    assert lost["Content-Type"].startswith("application/json")
    return won, lost


def test_two_services_of_one_name_at_once(tokens, client):
    with meeting_before_the_write(Service):
        won, lost = split(
            at_once(
                [
                    (t, "/api/v1/services/", service("shop", f"{u}.internal.example.com"))
                    for t, u in zip(tokens, ("a", "b"), strict=True)
                ]
            )
        )
    assert "registered meanwhile" in lost.json()["name"][0]
    assert Service.objects.filter(name="shop").count() == 1
    assert list(Hostname.objects.values_list("fqdn", flat=True)) == won.json()["exposure"]["hostnames"]
    assert AuditEvent.objects.filter(action="service.create").count() == 1
    assert client.get("/healthz").status_code == 200


def test_two_services_claiming_one_hostname_at_once(tokens, client):
    host = "shop.internal.example.com"
    with meeting_before_the_write(Service):
        won, lost = split(
            at_once(
                [
                    (tokens[0], "/api/v1/services/", service("shop", host)),
                    (tokens[1], "/api/v1/services/", service("store", host)),
                ]
            )
        )
    winner = won.json()["name"]
    assert lost.json()["exposure"]["hostnames"] == [f"{host!r} was taken meanwhile by service {winner!r}."]
    # Nothing of the loser was written: no service row, no sections, no audit record.
    assert list(Service.objects.values_list("name", flat=True)) == [winner]
    assert Hostname.objects.get().exposure.service.name == winner
    assert AuditEvent.objects.filter(action="service.create").count() == 1
    assert client.get("/healthz").status_code == 200


def test_two_teams_of_one_slug_at_once(tokens, client):
    with meeting_before_the_write(Team):
        won, lost = split(
            at_once([(t, "/api/v1/teams/", {"slug": "search", "name": f"Search {i}"}) for i, t in enumerate(tokens)])
        )
    assert "created meanwhile" in lost.json()["slug"][0]
    team = Team.objects.get(slug="search")
    assert team.name == won.json()["name"]
    assert team.memberships.count() == 1
    assert client.get("/healthz").status_code == 200
