"""The `kubernetes` target's ClusterRoles are least privilege: every request the engine makes against the API
double (applying, drift-checking and destroying services of several shapes and the platform layer) is allowed,
and the roles allow nothing that no request needed."""

import dataclasses
import io
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

from provisioning.choices import RunAction, RunStatus
from provisioning.engine import Engine, platform_scope
from provisioning.models import ProvisioningRun
from provisioning.names import LABEL_OWNER, LABEL_SERVICE
from provisioning.operations import (
    apply_service,
    destroy_service,
    drift_check_service,
    plan_platform,
)
from provisioning.scopes import PLATFORM_KEY
from provisioning.selfhost.rbac import DELEGATED_ROLE, PROVISIONER_ROLE, granted_by, rbac_yaml
from provisioning.spec import PlatformSpec
from tests.engine.conftest import register, run_task
from tests.k8sdouble.patch import APPLY_PATCH
from tests.k8sdouble.requestlog import RequestRecord

ROOT = Path(__file__).resolve().parents[2]
RBAC_FILE = ROOT / "deploy" / "base" / "rbac.yaml"

# Services of several shapes: every kind a service can own is written, read and deleted at least once.
SHAPES = {
    "billing": {
        "protocol": "grpc",
        "traffic": {
            "external_dependencies": [
                {"name": "db", "host": "db.example.net", "port": 5432, "protocol": "postgresql", "tls": "application"}
            ]
        },
    },
    "ledger": {
        "exposure": {"level": "internal", "hostnames": ["ledger.internal.example.com"]},
        "traffic": {"allowed_callers": ["billing"]},
        "telemetry": {"dashboard": True, "slo": {"availability": 99.9, "latency_p99_ms": 300}},
    },
    "wiki": {"mesh": False, "exposure": {"level": "internal", "hostnames": ["wiki.internal.example.com"]}},
}


def rbac_verbs(record: RequestRecord) -> set[str]:
    """The verbs the API server authorizes a request as. A server-side apply that creates its object is authorized
    as ``create`` as well as ``patch``."""
    if record.method == "GET":
        return {"watch" if record.query.get("watch") else ("get" if record.name else "list")}
    if record.method == "PATCH":
        return {"patch", "create"} if record.content_type == APPLY_PATCH and record.status == 201 else {"patch"}
    if record.method == "DELETE":
        return {"delete" if record.name else "deletecollection"}
    return {{"POST": "create", "PUT": "update"}[record.method]}


def load_roles() -> dict[str, dict]:
    documents = [d for d in yaml.safe_load_all(RBAC_FILE.read_text()) if d]
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == "ClusterRole"}


def allows(rules: list[dict], verb: str, group: str, resource: str) -> bool:
    return any(
        verb in rule["verbs"] and group in rule.get("apiGroups", ()) and resource in rule.get("resources", ())
        for rule in rules
    )


def allows_url(rules: list[dict], verb: str, path: str) -> bool:
    return any(
        verb in rule["verbs"] and any(_url_matches(pattern, path) for pattern in rule.get("nonResourceURLs", ()))
        for rule in rules
    )


def _url_matches(pattern: str, path: str) -> bool:
    return path.startswith(pattern[:-1]) if pattern.endswith("*") else path == pattern


def strip_ownership_labels(dynamic_client, objects: list[dict]) -> None:
    """Another manager removes the portal's ownership labels: the engine must find recorded objects by name."""
    for obj in objects:
        api = dynamic_client.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        meta = obj["metadata"]
        api.patch(
            name=meta["name"],
            namespace=meta.get("namespace"),
            body={"metadata": {"labels": {LABEL_SERVICE: None, LABEL_OWNER: None}}},
            content_type="application/merge-patch+json",
            field_manager="kubectl-edit",
        )


@pytest.fixture
def cluster(settings, k8s_kubeconfig, k8s_double, platform):
    settings.PORTAL_KUBECONFIG = k8s_kubeconfig
    platform.kubernetes_target = "kubernetes"
    platform.save()
    return k8s_double


def exercise(double, dynamic_client) -> list[RequestRecord]:
    """Apply, drift-check and destroy the service shapes and the platform layer; the portal's requests."""
    log: list[RequestRecord] = []
    call_command("prepare_sandbox", stdout=io.StringIO())
    call_command("bootstrap", certificate_wait=10, stdout=io.StringIO())
    for platform in ProvisioningRun.objects.filter(scope=PLATFORM_KEY):
        assert platform.status == RunStatus.SUCCEEDED, platform.error
    services = {name: register(name=name, **shape) for name, shape in SHAPES.items()}
    for service in services.values():
        applied = run_task(apply_service(service))
        assert applied.status == RunStatus.SUCCEEDED, applied.error
        assert run_task(drift_check_service(service)).status == RunStatus.SUCCEEDED
    log += double.requests
    double.clear_requests()
    strip_ownership_labels(dynamic_client, [o for o in double.objects() if LABEL_SERVICE in o["metadata"]["labels"]])
    strip_ownership_labels(dynamic_client, [o for o in double.objects() if LABEL_OWNER in o["metadata"]["labels"]])
    double.clear_requests()
    for service in services.values():
        assert run_task(drift_check_service(service)).status == RunStatus.SUCCEEDED
    plan_platform()
    for service in services.values():
        assert run_task(destroy_service(service)).status == RunStatus.SUCCEEDED
    # The platform layer pruned whole: what a layer that renders nothing any more leaves to delete.
    engine = Engine()
    scope = dataclasses.replace(platform_scope(engine.platform), desired=[])
    _, changes = engine.plan(scope, action=RunAction.APPLY)
    run = ProvisioningRun.objects.create(scope=PLATFORM_KEY, action=RunAction.APPLY)
    engine.apply(run, scope, changes)
    assert not [o for o in double.objects() if o["kind"] != "Namespace" or o["metadata"]["name"] != "default"]
    return log + double.requests


def test_the_committed_rbac_is_what_the_kind_lists_generate():
    assert RBAC_FILE.read_text() == rbac_yaml(PlatformSpec()), "run: python manage.py render_rbac -o " + str(
        RBAC_FILE.relative_to(ROOT)
    )


def test_the_cluster_roles_allow_exactly_what_the_engine_does(team, cluster, dynamic_client):
    records = exercise(cluster, dynamic_client)
    roles = load_roles()
    check_provisioner(records, roles[PROVISIONER_ROLE]["rules"])
    check_delegated(records, roles)


def check_provisioner(records: list[RequestRecord], provisioner: list[dict]) -> None:
    """Every request is allowed; every (verb, group, resource) and URL pattern allowed was requested."""
    used = {(verb, r.group, r.resource) for r in records if r.resource for verb in rbac_verbs(r)}
    urls = {r.path for r in records if not r.resource}
    assert {r.status for r in records} <= {200, 201, 404}

    refused = sorted(u for u in used if not allows(provisioner, *u))
    refused += sorted(("get", p, "") for p in urls if not allows_url(provisioner, "get", p))
    assert not refused, f"requests the ClusterRole does not allow: {refused}"

    granted = {
        (verb, group, resource)
        for rule in provisioner
        for group in rule.get("apiGroups", ())
        for resource in rule.get("resources", ())
        for verb in rule["verbs"]
    }
    assert not sorted(granted - used), "allowed but never requested"
    patterns = {p for rule in provisioner for p in rule.get("nonResourceURLs", ())}
    assert {p for p in patterns if not any(_url_matches(p, path) for path in urls)} == set()


def check_delegated(records: list[RequestRecord], roles: dict[str, dict]) -> None:
    """The portal holds every permission the roles it writes grant (Kubernetes refuses a role or binding granting
    more than its writer holds), and the delegated role holds nothing beyond those."""
    held = roles[PROVISIONER_ROLE]["rules"] + roles[DELEGATED_ROLE]["rules"]
    written = [r.body for r in records if r.kind in ("Role", "ClusterRole") and r.method == "PATCH"]
    assert written, "the platform layer writes roles"
    grants, urls = granted_by(written)
    assert not [g for g in sorted(grants) if not allows(held, g[2], g[0], g[1])]
    assert not [u for u in sorted(urls) if not allows_url(held, u[1], u[0])]
    # The delegated role is exactly those grants: nothing beyond what the written roles hand out.
    assert granted_by([roles[DELEGATED_ROLE]]) == (grants, urls)
