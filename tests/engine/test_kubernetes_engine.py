"""The engine against a Kubernetes API over HTTP: the official client, server-side apply, field managers.

These run against the API double, or a real cluster when PORTAL_TEST_KUBECONFIG is set (checks that need
the double's request log or fault hooks skip there).
"""

import pytest
from kubernetes.dynamic.exceptions import NotFoundError

from provisioning.choices import RunStatus
from provisioning.desired import SERVICE_KINDS
from provisioning.models import ManagedResource
from provisioning.names import FIELD_MANAGER, LABEL_MANAGED_BY, LABEL_SERVICE, MANAGED_BY
from provisioning.operations import apply_service, destroy_service, drift_check_service, plan_service
from tests.k8sdouble.fixtures import real_cluster_kubeconfig

from .conftest import register, run_task, update


@pytest.fixture
def cluster(settings, k8s_kubeconfig, platform):
    settings.PORTAL_KUBECONFIG = k8s_kubeconfig
    platform.kubernetes_target = "kubernetes"
    platform.save()


@pytest.fixture
def double(request):
    if real_cluster_kubeconfig():
        pytest.skip("needs the API double's request log")
    return request.getfixturevalue("k8s_double")


def get(dynamic_client, api_version, kind, name, namespace=None):
    api = dynamic_client.resources.get(api_version=api_version, kind=kind)
    return api.get(name=name, namespace=namespace).to_dict()


def test_apply_creates_every_object_by_server_side_apply(team, cluster, double, dynamic_client):
    service = register(name="ledger", telemetry={"dashboard": True, "slo": {"availability": 99.9}})
    run = run_task(apply_service(service))
    assert run.status == RunStatus.SUCCEEDED, run.error
    writes = [r for r in double.requests if r.is_write]
    assert writes and all(r.method == "PATCH" and r.content_type.startswith("application/apply-patch") for r in writes)
    assert {r.field_manager for r in writes} == {FIELD_MANAGER}
    # The AWS half of the service (its log group, its team's topic) goes to the AWS sandbox, not to the cluster.
    k8s_steps = run.steps.filter(provider="kubernetes").count()
    k8s_records = ManagedResource.objects.filter(scope="service:ledger", provider="kubernetes").count()
    assert len(writes) == k8s_steps == k8s_records
    rule = get(dynamic_client, "networking.istio.io/v1", "DestinationRule", "ledger", "ledger")
    assert rule["spec"]["trafficPolicy"]["tls"] == {"mode": "ISTIO_MUTUAL"}
    managers = {m["manager"] for m in rule["metadata"]["managedFields"]}
    assert managers == {FIELD_MANAGER}


def test_reapplying_an_unchanged_service_makes_zero_writes(team, cluster, double):
    service = register(name="ledger")
    run_task(apply_service(service))
    double.clear_requests()
    run = run_task(apply_service(service))
    assert run.status == RunStatus.SUCCEEDED
    assert double.write_count == 0
    assert double.read_count > 0


def test_changing_only_the_load_balancer_is_one_update_and_one_write(team, cluster, double, dynamic_client):
    service = register(name="ledger")
    run_task(apply_service(service))
    service = update(service, traffic={"load_balancer": "random"})
    plan = plan_service(service)
    assert plan.summary == {"create": 0, "update": 1, "delete": 0, "unchanged": plan.summary["unchanged"]}
    assert [c["kind"] for c in plan.changes if c["action"] == "update"] == ["DestinationRule"]
    double.clear_requests()
    run = run_task(apply_service(service, plan=plan))
    assert run.status == RunStatus.SUCCEEDED
    assert [(r.method, r.kind, r.name) for r in double.requests if r.is_write] == [
        ("PATCH", "DestinationRule", "ledger")
    ]
    rule = get(dynamic_client, "networking.istio.io/v1", "DestinationRule", "ledger", "ledger")
    assert rule["spec"]["trafficPolicy"]["loadBalancer"] == {"simple": "RANDOM"}


def test_server_filled_fields_never_show_as_changes(team, cluster, dynamic_client):
    service = register(name="ledger")
    run_task(apply_service(service))
    svc = get(dynamic_client, "v1", "Service", "ledger", "ledger")
    assert svc["spec"].get("clusterIP")  # filled by the server, not declared by the portal
    assert plan_service(service).summary["update"] == 0


def test_drift_check_reports_an_edit_made_by_another_field_manager(team, cluster, dynamic_client):
    service = register(name="ledger")
    run_task(apply_service(service))
    api = dynamic_client.resources.get(api_version="networking.istio.io/v1", kind="DestinationRule")
    api.patch(
        name="ledger",
        namespace="ledger",
        body={"spec": {"trafficPolicy": {"loadBalancer": {"simple": "LEAST_REQUEST"}}}},
        content_type="application/merge-patch+json",
        field_manager="kubectl-edit",
    )
    run = run_task(drift_check_service(service))
    assert run.status == RunStatus.SUCCEEDED and run.drift_found
    record = ManagedResource.objects.get(scope="service:ledger", kind="DestinationRule")
    assert record.status == "drifted"
    assert {"path": "spec.trafficPolicy.loadBalancer.simple", "old": "LEAST_REQUEST", "new": "ROUND_ROBIN"} in (
        record.drift
    )


def test_a_conflict_is_reported_and_forced_only_when_asked(team, cluster, dynamic_client):
    service = register(name="ledger")
    run_task(apply_service(service))
    api = dynamic_client.resources.get(api_version="networking.istio.io/v1", kind="DestinationRule")
    api.server_side_apply(
        body={
            "apiVersion": "networking.istio.io/v1",
            "kind": "DestinationRule",
            "metadata": {"name": "ledger", "namespace": "ledger"},
            "spec": {"trafficPolicy": {"loadBalancer": {"simple": "RANDOM"}}},
        },
        name="ledger",
        namespace="ledger",
        field_manager="other-operator",
        force_conflicts=True,
    )
    service = update(service, traffic={"load_balancer": "least_request"})
    run = run_task(apply_service(service))
    assert run.status == RunStatus.FAILED
    failed = run.steps.get(status="failed")
    assert failed.kind == "DestinationRule" and failed.error_code == "Conflict"
    assert "other-operator" in failed.error and "force" in failed.error
    forced = run_task(apply_service(service, force=True))
    assert forced.status == RunStatus.SUCCEEDED, forced.error
    rule = get(dynamic_client, "networking.istio.io/v1", "DestinationRule", "ledger", "ledger")
    assert rule["spec"]["trafficPolicy"]["loadBalancer"] == {"simple": "LEAST_REQUEST"}


def test_a_failing_object_fails_the_run_by_name_and_a_rerun_converges(team, cluster, double, settings):
    settings.PORTAL_RUN_MAX_ATTEMPTS = 2
    service = register(name="ledger")
    third = None

    def on_third_write():
        nonlocal third
        writes = [r for r in double.requests if r.is_write]
        third = writes[2] if len(writes) >= 3 else None

    # Find which object is written third, then make exactly that one fail on every attempt.
    probe = run_task(apply_service(service))
    on_third_write()
    assert probe.status == RunStatus.SUCCEEDED and third is not None
    run_task(destroy_service(service))
    service = register(name="ledger")
    double.clear_requests()
    double.fail_requests(
        status=500, message="etcdserver: request timed out", kind=third.kind, name=third.name, writes_only=True
    )
    run = run_task(apply_service(service))
    assert run.status == RunStatus.FAILED
    failed = run.steps.get(status="failed")
    assert (failed.kind, failed.name) == (third.kind, third.name)
    assert "etcdserver: request timed out" in failed.error and third.kind in run.error
    # The first two objects were written before the failure; the retry found them unchanged.
    assert run.log_entries.filter(event="provisioning.step.succeeded").count() == 2
    assert run.attempts == 2
    double.clear_faults()
    rerun = run_task(apply_service(service))
    assert rerun.status == RunStatus.SUCCEEDED, rerun.error
    names = [(o["kind"], o["metadata"]["name"]) for o in double.objects(namespace="ledger")]
    assert len(names) == len(set(names)), "no object exists twice"
    recorded = ManagedResource.objects.filter(scope="service:ledger", provider="kubernetes").count()
    assert rerun.steps.filter(provider="kubernetes").count() == recorded - 2


def test_pruning_and_destroy_delete_by_ownership(team, cluster, dynamic_client):
    service = register(name="ledger", telemetry={"dashboard": True})
    run_task(apply_service(service))
    cm = dynamic_client.resources.get(api_version="v1", kind="ConfigMap")
    assert cm.get(namespace="ledger", label_selector="portal.io/service=ledger").items
    service = update(service, telemetry={"dashboard": False})
    run = run_task(apply_service(service))
    assert [(s.action, s.kind) for s in run.steps.all()] == [("delete", "ConfigMap")]
    assert not cm.get(namespace="ledger", label_selector="portal.io/service=ledger").items
    run = run_task(destroy_service(service))
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.steps.order_by("-position").first().kind == "Namespace"
    with pytest.raises(NotFoundError):
        dynamic_client.resources.get(api_version="v1", kind="Namespace").get(name="ledger")


def test_a_first_apply_reads_no_object_and_a_reapply_lists_only_the_kinds_it_applied(team, cluster, double):
    service = register(name="ledger")
    double.clear_requests()
    run = run_task(apply_service(service))
    assert run.status == RunStatus.SUCCEEDED, run.error
    kinds = {kind for _, kind in SERVICE_KINDS}
    assert not [(r.kind, r.namespace) for r in double.requests if r.method == "GET" and r.kind in kinds]
    applied = {r.kind for r in double.requests if r.is_write}
    double.clear_requests()
    run = run_task(apply_service(service))
    assert run.status == RunStatus.SUCCEEDED and double.write_count == 0
    listed = {r.kind for r in double.requests if r.method == "GET" and r.kind in kinds}
    assert listed == applied, "each kind it applied, and no other"


def test_an_object_nobody_recorded_is_found_by_the_drift_check_and_pruned_by_the_next_apply(
    team, cluster, dynamic_client
):
    service = register(name="ledger")
    run_task(apply_service(service))
    # Carrying the service's labels, but in no inventory: a write whose record was lost, or one made by hand.
    configmaps = dynamic_client.resources.get(api_version="v1", kind="ConfigMap")
    stray = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "stray",
            "namespace": "ledger",
            "labels": {LABEL_MANAGED_BY: MANAGED_BY, LABEL_SERVICE: "ledger"},
        },
        "data": {"left": "behind"},
    }
    configmaps.create(body=stray, namespace="ledger")
    check = run_task(drift_check_service(service))
    assert check.status == RunStatus.SUCCEEDED and check.drift_found
    record = ManagedResource.objects.get(scope="service:ledger", kind="ConfigMap", name="stray")
    assert record.status == "drifted"
    run = run_task(apply_service(service))
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert [(s.action, s.kind, s.name) for s in run.steps.all()] == [("delete", "ConfigMap", "stray")]
    with pytest.raises(NotFoundError):
        configmaps.get(name="stray", namespace="ledger")
    assert not ManagedResource.objects.filter(kind="ConfigMap", name="stray").exists()
