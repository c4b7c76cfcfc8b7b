"""Bodies no client should send: nested a thousand levels deep, or larger than the API reads. Each is answered
with a JSON 4xx saying what is wrong, nothing is written, and the portal stays healthy."""

import json

import pytest
from rest_framework.authtoken.models import Token

from portal.audit.models import AuditEvent
from portal.catalog.models import Membership, Service, Team
from portal.core.parsers import MAX_JSON_DEPTH
from portal.oncall.models import Schedule
from portal.users.models import User
from tests.engine.conftest import register

DEEP = 1000


def nested(depth: int, inner=None) -> str:
    """An object ``depth`` levels deep: {"a": {"a": ... }}."""
    return '{"a": ' * depth + json.dumps(inner) + "}" * depth


@pytest.fixture
def token(team):
    user = User.objects.create(username="alice")
    Membership.objects.create(team=team, user=user, role="owner")
    return Token.objects.create(user=user).key


@pytest.fixture
def call(client, token):
    client.raise_request_exception = False

    def send(method: str, path: str, body: str, content_type: str = "application/json"):
        return getattr(client, method)(path, data=body, content_type=content_type, HTTP_AUTHORIZATION=f"Token {token}")

    return send


def assert_healthy(client):
    assert client.get("/healthz").status_code == 200


WRITES = [
    ("post", "/api/v1/services/"),
    ("patch", "/api/v1/services/shop/"),
    ("post", "/api/v1/teams/"),
    ("patch", "/api/v1/teams/payments/"),
    ("put", "/api/v1/teams/payments/oncall/"),
    ("post", "/api/v1/teams/payments/members/"),
]


@pytest.fixture
def shop(team):
    return register(name="shop")


@pytest.mark.parametrize(("method", "path"), WRITES)
@pytest.mark.parametrize("shape", ["arrays", "objects"])
def test_a_body_nested_a_thousand_deep_is_a_400_naming_the_depth(call, client, shop, method, path, shape):
    before = (Service.objects.count(), Team.objects.count(), Schedule.objects.count(), AuditEvent.objects.count())
    body = "[" * DEEP + "]" * DEEP if shape == "arrays" else nested(DEEP)
    response = call(method, path, body)
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert f"deeper than {MAX_JSON_DEPTH} levels" in response.json()["detail"]
    after = (Service.objects.count(), Team.objects.count(), Schedule.objects.count(), AuditEvent.objects.count())
    assert after == before
    assert_healthy(client)


def test_a_body_nested_deeper_than_the_limit_but_parseable_is_refused_too(call, client, shop):
    # Shallow enough for the decoder, too deep for a document: merging it as a patch would recurse this deep.
    response = call("patch", "/api/v1/services/shop/", json.dumps({"exposure": json.loads(nested(200))}))
    assert response.status_code == 400
    assert "deeper than" in response.json()["detail"]
    assert Service.objects.get(name="shop").revision == shop.revision


def test_a_document_as_deep_as_the_limit_is_read(call, shop):
    # Depth 32 of objects inside the description's place: refused by the serializer (a field error), not the parser.
    response = call(
        "patch", "/api/v1/services/shop/", json.dumps({"description": json.loads(nested(MAX_JSON_DEPTH - 1))})
    )
    assert response.status_code == 400
    assert "description" in response.json()


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_a_body_over_the_upload_limit_is_a_json_413(call, client, shop, settings, method, path):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    before = (Service.objects.count(), Team.objects.count(), AuditEvent.objects.count())
    response = call(method, path, json.dumps({"name": "big", "description": "x" * 20_000}))
    assert response.status_code == 413, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert "larger than 10000 bytes" in response.json()["detail"]
    assert (Service.objects.count(), Team.objects.count(), AuditEvent.objects.count()) == before
    assert_healthy(client)


def test_a_form_with_too_many_fields_is_a_json_400(call, client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    body = "&".join(f"f{i}=x" for i in range(50))
    response = call("post", "/api/v1/teams/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400, response.content[:300]
    assert "detail" in response.json()
    assert_healthy(client)


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"team": "pay\u0000ments"}, "team"),
        ({"traffic": {"allowed_callers": ["sh\u0000op"]}}, "traffic"),
        ({"exposure": {"routes": [{"header": "user-agent", "exact": "x", "service": "sh\u0000op"}]}}, "exposure"),
    ],
)
def test_a_name_with_a_nul_character_names_nothing(call, client, shop, document, field):
    # PostgreSQL refuses NUL in text: looking such a name up would be a 500; it is the field's "does not exist".
    body = json.dumps({"name": "wallet", "team": "payments", **document})
    response = call("post", "/api/v1/services/", body)
    assert response.status_code == 400 and field in response.json(), response.content
    assert "does not exist" in json.dumps(response.json())
    assert not Service.objects.filter(name="wallet").exists()
    assert_healthy(client)
