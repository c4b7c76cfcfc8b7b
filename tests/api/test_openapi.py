"""The OpenAPI schema: valid, complete (every endpoint of the design), served with docs that work offline,
and fuzzed with schemathesis (no request may cause a 5xx)."""

import json
import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error

from portal.catalog.models import Membership, Team
from portal.users.models import User

# DESIGN.md §5: the paths automation relies on.
DESIGN_PATHS = {
    ("/api/v1/teams/", "get"),
    ("/api/v1/teams/", "post"),
    ("/api/v1/teams/{slug}/", "get"),
    ("/api/v1/teams/{slug}/", "patch"),
    ("/api/v1/services/", "get"),
    ("/api/v1/services/", "post"),
    ("/api/v1/services/{name}/", "get"),
    ("/api/v1/services/{name}/", "patch"),
    ("/api/v1/services/{name}/", "delete"),
    ("/api/v1/services/{name}/plan/", "post"),
    ("/api/v1/services/{name}/apply/", "post"),
    ("/api/v1/services/{name}/manifests/", "get"),
    ("/api/v1/services/{name}/analysis/", "get"),
    ("/api/v1/analysis/", "get"),
    ("/api/v1/runs/", "get"),
    ("/api/v1/runs/{id}/", "get"),
    ("/api/v1/teams/{slug}/oncall/", "get"),
    ("/api/v1/teams/{slug}/oncall/", "put"),
    ("/api/v1/teams/{slug}/oncall/now/", "get"),
    ("/api/v1/teams/{slug}/oncall.ics", "get"),
    ("/api/v1/platform/manifests/", "get"),
    ("/api/v1/platform/plan/", "post"),
    ("/api/v1/platform/apply/", "post"),
    ("/api/v1/approvals/{id}/approve/", "post"),
}


@pytest.fixture
def schema_document(client, db):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_the_schema_is_valid_openapi_3(schema_document):
    assert schema_document["openapi"].startswith("3.")
    validate(schema_document)


def test_the_schema_covers_every_endpoint_of_the_design(schema_document):
    offered = {(path, method) for path, item in schema_document["paths"].items() for method in item}
    assert not DESIGN_PATHS - offered, f"missing from the schema: {sorted(DESIGN_PATHS - offered)}"


def test_the_docs_page_loads_its_assets_from_the_portal(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "cdn." not in page and "unpkg.com" not in page and "jsdelivr" not in page


# Loading the schema needs no database: it is generated from the code.
fuzzed = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@pytest.fixture
def in_test_transaction(db):
    """As Django's test client does: the test's transaction must survive each request's start and end."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def token(team, platform):
    user = User.objects.create(username="fuzzer", is_sre=True)
    Membership.objects.create(team=team, user=user, role="owner")
    Team.objects.create(slug="checkout", name="Checkout")
    return Token.objects.create(user=user).key


@fuzzed.parametrize()
@settings(
    max_examples=int(os.environ.get("PORTAL_FUZZ_EXAMPLES", "50")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_causes_a_server_error(case, in_test_transaction, token, settings_override_for_fuzzing, healthy):
    response = case.call(headers={"Authorization": f"Token {token}"})
    case.validate_response(response, checks=[not_a_server_error])


@pytest.fixture
def healthy(client):
    """The portal answers its health check after each operation's examples."""
    yield
    assert client.get("/healthz").status_code == 200


@pytest.fixture
def settings_override_for_fuzzing(settings, tmp_path):
    settings.PORTAL_GITOPS_DIR = tmp_path / "gitops"
