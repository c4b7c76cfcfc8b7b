"""Backstage interop: the catalog exported as Backstage entities (valid by Backstage's own schemas, from the
pinned ``@backstage/catalog-model`` in tests/backstage) and catalog-info.yaml imported, idempotent and all or
nothing."""

import json
import shutil
import subprocess
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from portal.catalog.models import Membership, Service, Team
from portal.users.models import User

pytestmark = pytest.mark.usefixtures("platform", "gitops")

MODEL = Path(__file__).parents[1] / "backstage" / "node_modules" / "@backstage" / "catalog-model" / "dist" / "schema"
SCHEMAS = {
    "Entity": "Entity.schema.json.cjs.js",
    "EntityEnvelope": "EntityEnvelope.schema.json.cjs.js",
    "EntityMeta": "EntityMeta.schema.json.cjs.js",
    "common": "shared/common.schema.json.cjs.js",
    "Component": "kinds/Component.v1alpha1.schema.json.cjs.js",
    "Group": "kinds/Group.v1alpha1.schema.json.cjs.js",
}


@pytest.fixture(scope="module")
def backstage_validators():
    """Backstage's entity schemas as the npm package ships them (JSON modules, read through node)."""
    if not MODEL.exists() or shutil.which("node") is None:
        pytest.fail("run `make node-tools` (tests/backstage: npm ci) first")
    script = (
        "console.log(JSON.stringify(Object.fromEntries(Object.entries(%s).map(([k, f]) => [k, require(f).default]))))"
    )
    files = json.dumps({k: str(MODEL / f) for k, f in SCHEMAS.items()})
    schemas = json.loads(subprocess.run(["node", "-e", script % files], check=True, capture_output=True).stdout)
    registry = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema, default_specification=DRAFT7)) for schema in schemas.values()
    )
    return {kind: Draft7Validator(schemas[kind], registry=registry) for kind in ("Entity", "Component", "Group")}


def valid(validators, entity: dict) -> list[str]:
    errors = [*validators["Entity"].iter_errors(entity), *validators[entity["kind"]].iter_errors(entity)]
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


@pytest.fixture
def catalog(team, member, api):
    owner = User.objects.create(username="olga")
    Membership.objects.create(team=team, user=owner, role="owner")
    Team.objects.create(slug="checkout", name="Checkout")
    client = api(User.objects.create(username="root", is_sre=True))
    for document in (
        {
            "name": "orders",
            "team": "checkout",
            "lifecycle": "production",
            "description": "Orders",
            "runbook_url": "https://wiki.example.com/runbooks/orders",
        },
        {"name": "ledger", "team": "payments", "traffic": {"allowed_callers": ["orders"]}},
        {"name": "billing", "team": "payments", "lifecycle": "deprecated", "traffic": {"allowed_callers": ["orders"]}},
    ):
        assert client.post("/api/v1/services/", document, format="json").status_code == 201
    return client


def export(client, **headers) -> list[dict]:
    response = client.get("/api/v1/backstage/entities/", **headers)
    assert response.status_code == 200, response.content
    if "yaml" in response["Content-Type"]:
        return [d for d in yaml.safe_load_all(response.content) if d]
    return response.json()


def test_the_export_is_valid_backstage_entities(catalog, backstage_validators):
    entities = export(catalog)
    assert export(catalog, HTTP_ACCEPT="application/yaml") == entities
    for entity in entities:
        assert not valid(backstage_validators, entity), (entity, valid(backstage_validators, entity))
    by_name = {(e["kind"], e["metadata"]["name"]): e for e in entities}
    group = by_name["Group", "payments"]
    assert group["spec"]["type"] == "team" and group["spec"]["members"] == ["alice", "olga"]
    ledger = by_name["Component", "ledger"]
    assert ledger["spec"] == {
        "type": "service",
        "lifecycle": "experimental",
        "owner": "group:default/payments",
        "dependsOn": [],
    }
    annotations = ledger["metadata"]["annotations"]
    assert annotations["backstage.io/kubernetes-id"] == "ledger"
    assert annotations["backstage.io/kubernetes-namespace"] == "ledger"
    urls = [link["url"] for link in ledger["metadata"]["links"]]
    assert urls == ["http://127.0.0.1:8000/services/ledger/", "http://127.0.0.1:8000/api/v1/teams/payments/oncall.ics"]
    # orders calls ledger and billing (their allowed callers): it depends on them.
    assert by_name["Component", "orders"]["spec"]["dependsOn"] == [
        "component:default/billing",
        "component:default/ledger",
    ]
    assert by_name["Component", "billing"]["spec"]["lifecycle"] == "deprecated"
    # A runbook is one more link, of type runbook (read back as the service's runbook_url).
    assert by_name["Component", "orders"]["metadata"]["links"][2] == {
        "url": "https://wiki.example.com/runbooks/orders",
        "title": "Runbook",
        "type": "runbook",
    }


def test_a_broken_entity_fails_the_schema(backstage_validators):
    broken = {"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "x"}, "spec": {}}
    assert valid(backstage_validators, broken)


def test_export_import_export_is_a_round_trip(catalog, tmp_path):
    before = export(catalog)
    Service.objects.all().delete()
    Team.objects.all().delete()
    path = tmp_path / "catalog-info.yaml"
    path.write_text(yaml.safe_dump_all(before))
    out = StringIO()
    call_command("import_backstage", str(path), stdout=out)
    assert export(catalog) == before
    assert Service.objects.get(name="orders").runbook_url == "https://wiki.example.com/runbooks/orders"
    again = StringIO()
    call_command("import_backstage", str(path), stdout=again)
    assert "nothing to change" in again.getvalue()


def catalog_info(invalid_at: int | None = None) -> list[dict]:
    groups = [
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Group",
            "metadata": {"name": f"team-{i}"},
            "spec": {"type": "team", "children": []},
        }
        for i in range(3)
    ]
    components = [
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": f"svc-{i}"},
            "spec": {"type": "service", "lifecycle": "production", "owner": f"team-{i % 3}"},
        }
        for i in range(10)
    ]
    documents = groups + components
    if invalid_at is not None:
        documents[invalid_at]["spec"]["owner"] = "group:default/nobody"
    return documents


def test_one_invalid_document_changes_nothing_and_is_reported_by_index_and_field(tmp_path, db):
    path = tmp_path / "catalog-info.yaml"
    path.write_text(yaml.safe_dump_all(catalog_info(invalid_at=9)))
    with pytest.raises(CommandError) as failed:
        call_command("import_backstage", str(path), stdout=StringIO())
    assert "document 9 (Component svc-6): spec.owner" in str(failed.value)
    assert not Team.objects.exists() and not Service.objects.exists()


def test_a_dry_run_lists_what_would_change_and_what_cannot_be_mapped(tmp_path, db):
    documents = [
        *catalog_info(),
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": "site"},
            "spec": {"type": "website", "lifecycle": "production", "owner": "team-0"},
        },
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "API",
            "metadata": {"name": "orders-api"},
            "spec": {"type": "openapi", "lifecycle": "production", "owner": "team-0", "definition": "x"},
        },
    ]
    path = tmp_path / "catalog-info.yaml"
    path.write_text(yaml.safe_dump_all(documents))
    out = StringIO()
    call_command("import_backstage", str(path), "--dry-run", stdout=out)
    text = out.getvalue()
    assert "create team team-0" in text and "create service svc-9" in text
    assert "skipped document 13 (Component site): spec.type 'website'" in text
    assert "skipped document 14 (API orders-api)" in text
    assert not Team.objects.exists()
    call_command("import_backstage", str(path), stdout=StringIO())
    service = Service.objects.get(name="svc-4")
    assert service.team.slug == "team-1" and service.lifecycle == "production" and service.exposure.level == "mesh"


def test_the_import_api_lets_owners_import_into_their_teams_and_sres_into_all(catalog, api, member):
    owner = User.objects.get(username="olga")
    text = yaml.safe_dump_all(
        [
            {
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Component",
                "metadata": {"name": "wallet"},
                "spec": {"type": "service", "lifecycle": "production", "owner": "group:default/payments"},
            }
        ]
    )
    post = lambda user, body=text: api(user).generic(  # noqa: E731
        "POST", "/api/v1/backstage/import/", body.encode(), content_type="application/yaml"
    )
    assert post(member).status_code == 403
    assert not Service.objects.filter(name="wallet").exists()
    response = post(owner)
    assert response.status_code == 200, response.content
    assert response.json()["changes"] == [{"document": 0, "action": "create", "kind": "service", "name": "wallet"}]
    assert Service.objects.get(name="wallet").team.slug == "payments"
    new_team = yaml.safe_dump(
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Group",
            "metadata": {"name": "ops"},
            "spec": {"type": "team", "children": []},
        }
    )
    assert post(owner, new_team).status_code == 403
    assert post(User.objects.get(username="root"), new_team).status_code == 200
    assert Team.objects.filter(slug="ops").exists()


@pytest.mark.parametrize(
    ("entity", "path"),
    [
        ({"kind": "Group", "metadata": {"name": "ops"}, "spec": {"members": "alice"}}, "spec.members"),
        ({"kind": "Group", "metadata": {"name": "ops", "annotations": "x"}, "spec": {}}, "metadata.annotations"),
        ({"kind": "Group", "metadata": {"name": "Ops!"}, "spec": {}}, "metadata.name"),
        (
            {"kind": "Component", "metadata": {"name": "x"}, "spec": {"type": "service", "lifecycle": {}}},
            "spec.lifecycle",
        ),
        (
            {
                "kind": "Component",
                "metadata": {"name": "x"},
                "spec": {"type": "service", "lifecycle": "production", "owner": "payments", "dependsOn": 5},
            },
            "spec.dependsOn",
        ),
        ({"kind": "Component", "metadata": "x"}, ""),
    ],
)
def test_malformed_entities_are_refused_by_path(api, sre, team, entity, path):
    body = json.dumps([{"apiVersion": "backstage.io/v1alpha1", **entity}])
    response = api(sre).generic("POST", "/api/v1/backstage/import/", body.encode(), content_type="application/json")
    assert response.status_code == 400, response.content
    assert path in [e["path"] for e in response.json()["errors"]]
    assert not Service.objects.exists()
