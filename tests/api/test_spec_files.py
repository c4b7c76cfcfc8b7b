"""Service spec files (``service.yaml``): a team keeps its service's document in its own repository and its CI
applies it with ``manage.py apply_spec`` or ``POST /api/v1/specs/apply/``; the same document as the API's, so
either way gives the same service. Bad files name the field by its path in the file and write nothing."""

import json
from io import StringIO

import jsonschema
import pytest
import yaml
from django.core.management import CommandError, call_command

from portal.catalog.choices import ExposureLevel, LoadBalancer
from portal.catalog.documents import current_document
from portal.catalog.models import Service
from provisioning.models import Plan, ProvisioningRun

pytestmark = pytest.mark.usefixtures("platform", "gitops")

SPEC = """\
apiVersion: portal.io/v1
kind: Service
metadata:
  name: ledger
  team: payments
spec:
  description: The ledger
  lifecycle: production
  tier: 1
  port: 9090
  exposure:
    level: internal
    hostnames: [ledger.internal.example.com]
  traffic:
    load_balancer: least_request
    timeout_seconds: 5
    retries: {attempts: 2}
  telemetry:
    slo: {availability: 99.9}
    tracing_sampling_percent: 2.5
"""

LIVE = ("state", "revision", "created_at", "updated_at")


def spec_file(tmp_path, text: str = SPEC, name: str = "service.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def apply_spec(*args) -> str:
    out = StringIO()
    call_command("apply_spec", *args, stdout=out)
    return out.getvalue()


def without_live_keys(document: dict) -> dict:
    return {k: v for k, v in document.items() if k not in LIVE}


def test_apply_spec_registers_the_service_prints_the_plan_and_requests_the_run(tmp_path, team):
    output = apply_spec(spec_file(tmp_path))
    service = Service.objects.get(name="ledger")
    assert service.revision == 1 and service.team == team and service.port == 9090
    run = ProvisioningRun.objects.get()
    assert run.status == "queued" and run.plan is not None and run.scope == "service:ledger"
    assert "ledger: created (revision 1)" in output
    assert "create Namespace ledger" in output and "create logs.LogGroup" in output
    assert f"run #{run.pk} queued" in output


def test_applying_the_same_file_again_changes_nothing_and_requests_no_run(tmp_path, team):
    path = spec_file(tmp_path)
    apply_spec(path)
    output = apply_spec(path)
    assert "ledger: unchanged (revision 1)" in output
    assert Service.objects.get(name="ledger").revision == 1
    assert ProvisioningRun.objects.count() == 1, "the run already requested applies this revision"


def test_the_file_and_the_api_give_the_same_service(tmp_path, team, api, member):
    apply_spec(spec_file(tmp_path))
    by_file = without_live_keys(current_document(Service.objects.get(name="ledger")))
    declared = yaml.safe_load(SPEC)
    document = {**declared["spec"], "team": "payments"}

    client = api(member)
    assert client.put("/api/v1/services/ledger/", document, format="json").status_code == 200
    assert Service.objects.get(name="ledger").revision == 1, "the API finds the file's document unchanged"

    Service.objects.filter(name="ledger").delete()
    created = client.put("/api/v1/services/ledger/", document, format="json")
    assert created.status_code == 201
    assert without_live_keys(created.json()) == by_file


def test_plan_only_prints_the_plan_and_writes_nothing(tmp_path, team):
    output = apply_spec(spec_file(tmp_path), "--plan-only")
    assert "ledger: would be created" in output and "create Namespace ledger" in output
    assert not Service.objects.exists() and not Plan.objects.exists() and not ProvisioningRun.objects.exists()


def test_internet_exposure_waits_for_an_sre_as_through_the_api(tmp_path, team):
    text = SPEC.replace("level: internal", "level: external").replace(
        "ledger.internal.example.com", "ledger.example.com"
    )
    output = apply_spec(spec_file(tmp_path, text))
    run = ProvisioningRun.objects.get()
    assert run.status == "awaiting_approval"
    assert f"run #{run.pk} awaiting approval" in output and "internet" in output


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (("load_balancer: least_request", "load_balancer: fastest"), "document 0 (ledger): spec.traffic.load_balancer"),
        (("attempts: 2", "attempts: 99"), "spec.traffic.retries.attempts"),
        (("hostnames: [ledger.internal.example.com]", "hostnames: [ledger.example.com]"), "spec.exposure.hostnames"),
        (("team: payments", "team: nobody"), "metadata.team"),
        (("name: ledger", "name: Ledger_1"), "metadata.name"),
        (("  tier: 1", "  tier: 1\n  teir: 2"), "spec.teir: unknown field"),
        (("    timeout_seconds: 5", "    timeout: 5"), "spec.traffic.timeout: unknown field"),
        (("apiVersion: portal.io/v1", "apiVersion: portal.io/v2"), "apiVersion: "),
        (("kind: Service", "kind: Component"), "kind: "),
    ],
)
def test_a_bad_spec_names_the_field_by_its_path_and_writes_nothing(tmp_path, team, change, named):
    with pytest.raises(CommandError) as failed:
        apply_spec(spec_file(tmp_path, SPEC.replace(*change)))
    assert named in str(failed.value)
    assert not Service.objects.exists() and not ProvisioningRun.objects.exists()


def test_many_documents_in_one_file_are_all_or_nothing(tmp_path, team):
    second = SPEC.replace("name: ledger", "name: orders").replace("ledger.internal", "orders.internal")
    bad = second.replace("name: orders", "name: billing").replace("tier: 1", "tier: 9")
    with pytest.raises(CommandError) as failed:
        apply_spec(spec_file(tmp_path, f"{SPEC}---\n{second}---\n{bad}"))
    assert "document 2 (billing): spec.tier" in str(failed.value)
    assert not Service.objects.exists()
    calls = SPEC.replace("load_balancer: least_request", "load_balancer: least_request\n    allowed_callers: [orders]")
    apply_spec(spec_file(tmp_path, f"{second}---\n{calls}"))
    assert list(Service.objects.get(name="ledger").traffic.allowed_callers.values_list("name", flat=True)) == ["orders"]


def test_unreadable_files_say_where(tmp_path, team):
    with pytest.raises(CommandError, match="line 3"):
        apply_spec(spec_file(tmp_path, "apiVersion: portal.io/v1\nkind: Service\n  metadata: [\n"))
    with pytest.raises(CommandError, match="no such file"):
        apply_spec(str(tmp_path / "missing.yaml"))
    with pytest.raises(CommandError, match="document 0: must be an object"):
        apply_spec(spec_file(tmp_path, "[1, 2]\n", name="service.json"))


# --- the API -----------------------------------------------------------------------------------------------


def post_spec(client, text: str, content_type: str = "application/yaml", query: str = ""):
    return client.generic("POST", f"/api/v1/specs/apply/{query}", text.encode(), content_type=content_type)


def test_the_api_applies_yaml_and_json_files_with_the_same_result(api, member):
    client = api(member)
    response = post_spec(client, SPEC)
    assert response.status_code == 201, response.json()
    [result] = response.json()["documents"]
    assert result["service"] == "ledger" and result["result"] == "created" and result["revision"] == 1
    assert result["plan"]["summary"]["create"] > 0 and result["run"]["status"] == "queued"
    assert result["run"]["requested_by"] == "alice"

    as_json = json.dumps(yaml.safe_load(SPEC))
    again = post_spec(client, as_json, "application/json")
    assert again.status_code == 200, again.json()
    assert again.json()["documents"][0]["result"] == "unchanged"
    assert again.json()["documents"][0]["run"]["id"] == result["run"]["id"], "the run in progress"
    assert ProvisioningRun.objects.count() == 1


def test_the_api_plans_only_when_asked(api, member):
    response = post_spec(api(member), SPEC, query="?plan_only=true")
    assert response.status_code == 200, response.json()
    [result] = response.json()["documents"]
    assert result["result"] == "created" and result["run"] is None and result["plan"]["summary"]["create"] > 0
    assert response.json()["plan_only"] is True
    assert not Service.objects.exists() and not Plan.objects.exists()


def test_the_api_reports_bad_documents_by_path_and_writes_nothing(api, member):
    response = post_spec(api(member), SPEC.replace("tier: 1", "tier: 9"))
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["document"] == 0 and error["path"] == "spec.tier" and error["message"]
    assert not Service.objects.exists()
    unreadable = post_spec(api(member), "{not json", "application/json")
    assert unreadable.status_code == 400 and "line 1" in unreadable.json()["errors"][0]["message"]


def test_the_api_applies_only_what_the_caller_may_change(api, outsider, member):
    assert post_spec(api(outsider), SPEC).status_code == 403
    assert not Service.objects.exists()
    assert api().post("/api/v1/specs/apply/", SPEC, content_type="application/yaml").status_code == 401


# --- the file's JSON schema ----------------------------------------------------------------------------------


def test_the_schema_of_the_file_is_published_and_generated_from_the_api(client, db):
    response = client.get("/api/schema/service-spec.json")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/schema+json")
    schema = response.json()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors(yaml.safe_load(SPEC)))

    defs = schema["$defs"]
    assert set(defs["LoadBalancerEnum"]["enum"]) == set(LoadBalancer.values), "the serializer's choices"
    assert set(defs["LevelEnum"]["enum"]) == set(ExposureLevel.values)
    for bad in (
        SPEC.replace("load_balancer: least_request", "load_balancer: fastest"),
        SPEC.replace("kind: Service", "kind: Component"),
        SPEC.replace("  tier: 1", "  teir: 1"),
    ):
        assert list(validator.iter_errors(yaml.safe_load(bad))), bad
    nullable = SPEC.replace("    timeout_seconds: 5", "    timeout_seconds: null\n    canary: null")
    assert not list(validator.iter_errors(yaml.safe_load(nullable)))


def test_the_api_schema_documents_both_ways_of_declaring(client, db):
    paths = client.get("/api/schema/?format=json").json()["paths"]
    assert "put" in paths["/api/v1/services/{name}/"] and "post" in paths["/api/v1/specs/apply/"]
    assert set(paths["/api/v1/services/{name}/"]["put"]["responses"]) >= {"200", "201"}
