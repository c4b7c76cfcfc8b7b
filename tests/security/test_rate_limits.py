"""Rate limits: the API per token (429 with Retry-After), what answers without a token per address, and
sign-in attempts (allauth: failed sign-ins per username and per address, all sign-ins per address). Counters
live in the Django cache; with REDIS_URL set, in Redis, shared by every web process."""

import os
import uuid

import pytest
import redis
from django.test import Client, override_settings
from rest_framework.authtoken.models import Token

from portal.users.models import User

pytestmark = pytest.mark.django_db

WRONG = "The username and/or password you specified are not correct."
TOO_MANY = "Too many failed login attempts. Try again later."


def token_client(user) -> Client:
    return Client(headers={"Authorization": f"Token {Token.objects.create(user=user).key}"})


@pytest.fixture
def people(db):
    return {name: User.objects.create_user(name, password=f"{name}-password-123") for name in ("ann", "bea", "sam")}


def test_each_token_has_its_own_rate_and_the_excess_gets_429_with_retry_after(settings, people):
    settings.PORTAL_API_RATE = "3/min"
    ann, bea = token_client(people["ann"]), token_client(people["bea"])
    assert [ann.get("/api/v1/teams/").status_code for _ in range(3)] == [200, 200, 200]
    refused = ann.get("/api/v1/services/")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert "Request was throttled" in refused.json()["detail"]
    assert bea.get("/api/v1/teams/").status_code == 200  # another token, its own count


def test_the_browsers_session_counts_against_the_same_rate(settings, people):
    settings.PORTAL_API_RATE = "2/min"
    client = Client()
    client.force_login(people["ann"])
    assert [client.get("/api/v1/teams/").status_code for _ in range(3)] == [200, 200, 429]


def test_what_answers_without_a_token_is_limited_per_address(settings, db):
    settings.PORTAL_API_ANON_RATE = "2/min"
    client = Client()
    assert [client.get("/api/schema/").status_code for _ in range(3)] == [200, 200, 429]
    # A forged X-Forwarded-For is no way around it: no proxy is trusted unless configured.
    assert client.get("/api/schema/", headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 429
    other = Client(REMOTE_ADDR="192.0.2.10")
    assert other.get("/api/schema/").status_code == 200


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")
def test_with_redis_the_counters_are_in_redis(settings, people):
    """The production cache: every web process sees the same counts."""
    prefix = f"portal-test-{uuid.uuid4().hex}"
    cache = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["REDIS_URL"],
        "KEY_PREFIX": prefix,
    }
    settings.PORTAL_API_RATE = "2/min"
    server = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        with override_settings(CACHES={"default": cache}):
            ann = token_client(people["ann"])
            assert [ann.get("/api/v1/teams/").status_code for _ in range(3)] == [200, 200, 429]
            assert server.keys(f"{prefix}:*"), "the throttle's history is kept in Redis"
    finally:
        for key in server.scan_iter(f"{prefix}:*"):
            server.delete(key)


def sign_in(client: Client, username: str, password: str):
    return client.post("/accounts/login/", {"login": username, "password": password})


def test_failed_sign_ins_are_throttled_per_username(settings, people):
    settings.ACCOUNT_RATE_LIMITS = {"login": "30/m/ip", "login_failed": "10/m/ip,3/5m/key"}
    client = Client()
    for _ in range(3):
        response = sign_in(client, "sam", "guess")
        assert response.status_code == 200 and WRONG in response.content.decode()
    # Even the right password is refused now: guessing on cannot tell a hit from a miss.
    response = sign_in(client, "sam", "sam-password-123")
    assert TOO_MANY in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Someone else signs in from the same address.
    assert sign_in(client, "ann", "ann-password-123").status_code == 302


def test_failed_sign_ins_are_throttled_per_address(settings, people):
    settings.ACCOUNT_RATE_LIMITS = {"login": "30/m/ip", "login_failed": "4/m/ip,3/5m/key"}
    client = Client()
    for name in ("ann", "ann", "bea", "bea"):
        assert WRONG in sign_in(client, name, "guess").content.decode()
    assert TOO_MANY in sign_in(client, "sam", "sam-password-123").content.decode()
    assert sign_in(Client(REMOTE_ADDR="192.0.2.10"), "sam", "sam-password-123").status_code == 302


def test_sign_in_attempts_are_limited_per_address(settings, people):
    settings.ACCOUNT_RATE_LIMITS = {"login": "2/m/ip", "login_failed": "10/m/ip,5/5m/key"}
    client = Client()
    assert sign_in(client, "ann", "guess").status_code == 200
    assert sign_in(client, "ann", "guess").status_code == 200
    assert sign_in(client, "ann", "ann-password-123").status_code == 429


def test_the_configured_limits_are_what_the_readme_says(settings):
    from allauth.account import app_settings

    assert app_settings.RATE_LIMITS["login_failed"] == "10/m/ip,5/5m/key"
    assert app_settings.RATE_LIMITS["login"] == "30/m/ip"
    assert settings.PORTAL_API_RATE == "1200/min"
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] == [
        "portal.core.api.TokenRateThrottle",
        "portal.core.api.AnonymousRateThrottle",
    ]


@pytest.mark.parametrize("backend", ["locmem", "redis"])
def test_the_window_slides_and_refused_requests_do_not_count(settings, people, backend):
    """10/min: the eleventh request within a minute is refused; half way through the next minute half of the
    last minute's requests still weigh, so five more go through, then none until the weight falls further."""
    from django.core.cache import caches
    from django.test import RequestFactory

    from portal.core.api import TokenRateThrottle

    if backend == "redis" and not os.environ.get("REDIS_URL"):
        pytest.skip("needs REDIS_URL")
    location = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid.uuid4().hex}
    if backend == "redis":
        location = {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": f"portal-test-{uuid.uuid4().hex}",
        }
    settings.PORTAL_API_RATE = "10/min"
    clock = {"now": 6000.0}  # the start of a minute

    class Throttle(TokenRateThrottle):
        cache = None

        def timer(self):
            return clock["now"]

    request = RequestFactory().get("/api/v1/teams/")
    request.user = people["ann"]
    with override_settings(CACHES={"default": location}):
        Throttle.cache = caches["default"]

        def allowed(n: int) -> list[bool]:
            return [Throttle().allow_request(request, None) for _ in range(n)]

        assert allowed(12) == [True] * 10 + [False, False]
        clock["now"] = 6090.0  # half way through the next minute: 10 × 0.5 still weigh
        assert allowed(6) == [True] * 5 + [False]
        throttle = Throttle()
        assert not throttle.allow_request(request, None) and 1 <= throttle.wait() <= 30
        clock["now"] = 6114.0  # 10 × 0.1 + 5 = 6: four more
        assert allowed(5) == [True] * 4 + [False]
