"""Guessing credentials costs like any request without them: wrong API tokens and wrong calendar feed tokens count
against the client address's limit (PORTAL_API_ANON_RATE, 120 a minute), and past it every request from that
address that carries a credential is refused (429) before the credential is checked, so guessing on cannot tell a
hit from a miss. Other addresses are not affected."""

import os
import uuid

import pytest
import redis
from django.test import Client, override_settings
from rest_framework.authtoken.models import Token

from portal.catalog.models import Membership
from portal.oncall.models import Rotation, RotationMember, Schedule
from portal.users.models import User

pytestmark = pytest.mark.django_db

ATTACKER = "198.51.100.66"
FEED = "/api/v1/teams/payments/oncall.ics"


@pytest.fixture
def alice(team):
    user = User.objects.create(username="alice")
    Membership.objects.create(team=team, user=user, role="owner")
    return user


def test_wrong_api_tokens_count_against_the_address(settings, alice):
    assert settings.PORTAL_API_ANON_RATE == "120/min"
    token = Token.objects.create(user=alice).key
    attacker = Client(REMOTE_ADDR=ATTACKER)
    statuses = [
        attacker.get("/api/v1/teams/", headers={"Authorization": f"Token {i:040x}"}).status_code for i in range(130)
    ]
    assert statuses[:120] == [401] * 120
    assert statuses[120:] == [429] * 10
    refused = attacker.get("/api/v1/teams/", headers={"Authorization": f"Token {token}"})
    assert refused.status_code == 429, "past the limit a right guess looks like a wrong one"
    assert int(refused["Retry-After"]) >= 1
    elsewhere = Client(REMOTE_ADDR="192.0.2.10", headers={"Authorization": f"Token {token}"})
    assert elsewhere.get("/api/v1/teams/").status_code == 200


def test_malformed_token_headers_count_too(settings, alice):
    settings.PORTAL_API_ANON_RATE = "3/min"
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for header in ("Token", "Token a b", "Token \u00e9"):
        assert attacker.get("/api/v1/teams/", headers={"Authorization": header}).status_code == 401
    assert attacker.get("/api/v1/teams/", headers={"Authorization": "Token x"}).status_code == 429


def test_right_tokens_do_not_count(settings, alice):
    settings.PORTAL_API_ANON_RATE = "3/min"
    client = Client(REMOTE_ADDR=ATTACKER, headers={"Authorization": f"Token {Token.objects.create(user=alice).key}"})
    assert [client.get("/api/v1/teams/").status_code for _ in range(10)] == [200] * 10


@pytest.fixture
def feed_token(team, alice) -> str:
    row = Schedule.objects.create(team=team, time_zone="UTC")
    for role in ("incident_commander", "resolver"):
        rotation = Rotation.objects.create(
            schedule=row, role=role, shift_hours=24, start_date="2026-01-01", handoff_time="09:00"
        )
        RotationMember.objects.create(rotation=rotation, user=alice, position=0)
    return row.issue_feed_token()


def test_wrong_feed_tokens_count_against_the_address(feed_token):
    attacker = Client(REMOTE_ADDR=ATTACKER)
    statuses = [attacker.get(FEED, {"token": f"guess-{i}"}).status_code for i in range(130)]
    assert statuses[:120] == [404] * 120
    assert statuses[120:] == [429] * 10
    assert attacker.get(FEED, {"token": feed_token}).status_code == 429
    assert Client(REMOTE_ADDR="192.0.2.10").get(FEED, {"token": feed_token}).status_code == 200


def test_an_ipv6_network_counts_as_one_address(settings, alice):
    settings.PORTAL_API_ANON_RATE = "3/min"
    for host in range(1, 4):
        client = Client(REMOTE_ADDR=f"2001:db8:0:1::{host}")
        assert client.get("/api/v1/teams/", headers={"Authorization": "Token wrong"}).status_code == 401
    neighbour = Client(REMOTE_ADDR="2001:db8:0:1::99")
    assert neighbour.get("/api/v1/teams/", headers={"Authorization": "Token wrong"}).status_code == 429
    other = Client(REMOTE_ADDR="2001:db8:0:2::1")
    assert other.get("/api/v1/teams/", headers={"Authorization": "Token wrong"}).status_code == 401


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")
def test_with_redis_the_failures_are_counted_in_redis(settings, alice):
    """The production cache: the count that INCR keeps is the one read before a credential is checked."""
    prefix = f"portal-test-{uuid.uuid4().hex}"
    cache = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["REDIS_URL"]}
    settings.PORTAL_API_ANON_RATE = "3/min"
    server = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        with override_settings(CACHES={"default": {**cache, "KEY_PREFIX": prefix}}):
            attacker = Client(REMOTE_ADDR=ATTACKER, headers={"Authorization": "Token wrong"})
            assert [attacker.get("/api/v1/teams/").status_code for _ in range(4)] == [401, 401, 401, 429]
            assert server.keys(f"{prefix}:*")
    finally:
        for key in server.scan_iter(f"{prefix}:*"):
            server.delete(key)
