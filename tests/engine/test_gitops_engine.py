"""The engine against the gitops target: a real git repository."""

import pytest
import yaml

from provisioning.choices import RunStatus
from provisioning.engine import Engine
from provisioning.models import ManagedResource, ProvisioningRun
from provisioning.operations import apply_service, destroy_service, drift_check_service, plan_service

from .conftest import register, run_task, update


def commits(repo) -> list[str]:
    return repo.git("log", "--format=%s").splitlines()


def test_apply_writes_one_file_per_object_and_one_commit_naming_the_run(team, platform, gitops_repo):
    service = register(name="ledger", telemetry={"dashboard": True, "slo": {"availability": 99.9}})
    run = run_task(apply_service(service))
    assert run.status == RunStatus.SUCCEEDED, run.error
    files = sorted(p.relative_to(gitops_repo.path).as_posix() for p in gitops_repo.path.glob("*/*.yaml"))
    assert "ledger/namespace-ledger.yaml" in files
    assert "ledger/destinationrule-ledger.yaml" in files
    assert "ledger/prometheusrule-ledger.yaml" in files
    assert commits(gitops_repo)[0] == f"portal run #{run.pk}: apply service:ledger"
    assert ManagedResource.objects.filter(scope="service:ledger", provider="kubernetes").count() == len(files)
    aws = ManagedResource.objects.filter(provider="aws").values_list("scope", "kind", "name")
    assert set(aws) == {
        ("service:ledger", "logs.LogGroup", "/eks/sandbox/payments/ledger"),
        ("team:payments", "sns.Topic", "portal-payments-incidents"),
    }
    steps = list(run.steps.values_list("status", flat=True))
    assert steps and set(steps) == {"succeeded"}


def test_reapplying_an_unchanged_service_writes_nothing(team, platform, gitops_repo):
    service = register(name="ledger")
    run_task(apply_service(service))
    before = commits(gitops_repo)
    engine = Engine()
    plan = plan_service(service, engine=engine)
    assert plan.summary["create"] == plan.summary["update"] == plan.summary["delete"] == 0
    run = run_task(apply_service(service, plan=plan))
    assert run.status == RunStatus.SUCCEEDED
    assert run.steps.count() == 0
    assert commits(gitops_repo) == before


def test_planning_a_new_service_reads_no_other_scopes_files(team, platform, gitops_repo):
    """Files are named by kind: the cluster-scoped files other scopes keep (ClusterRoles, IngressClasses...) are
    not read for a service, which owns none of those kinds; a known service reads its own files only."""
    cluster = gitops_repo.path / "_cluster"
    cluster.mkdir(parents=True)
    for name in ("prometheus", "kiali", "fluent-bit"):
        (cluster / f"clusterrole-{name}.yaml").write_text(
            yaml.safe_dump(
                {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name}}
            )
        )
    service = register(name="ledger")
    engine = Engine()
    plan_service(service, engine=engine)
    assert engine.backends["kubernetes"].reader.reads == 0
    run_task(apply_service(service))
    engine = Engine()
    plan_service(service, engine=engine)
    own = len(list((gitops_repo.path / "ledger").glob("*.yaml")))
    assert engine.backends["kubernetes"].reader.reads == own


def test_changing_only_the_load_balancer_updates_only_the_destination_rule(team, platform, gitops_repo):
    service = register(name="ledger")
    run_task(apply_service(service))
    service = update(service, traffic={"load_balancer": "least_request"})
    plan = plan_service(service)
    updates = [c for c in plan.changes if c["action"] != "unchanged"]
    assert [(c["action"], c["kind"]) for c in updates] == [("update", "DestinationRule")]
    assert updates[0]["diff"] == [
        {"path": "spec.trafficPolicy.loadBalancer.simple", "old": "ROUND_ROBIN", "new": "LEAST_REQUEST"}
    ]
    run = run_task(apply_service(service, plan=plan))
    assert [(s.action, s.kind, s.status) for s in run.steps.all()] == [("update", "DestinationRule", "succeeded")]


def test_objects_no_longer_needed_are_pruned(team, platform, gitops_repo):
    service = register(name="ledger", telemetry={"dashboard": True})
    run_task(apply_service(service))
    dashboard = gitops_repo.path / "ledger" / "configmap-ledger-dashboard.yaml"
    assert any(p.name.startswith("configmap-") for p in (gitops_repo.path / "ledger").iterdir())
    service = update(service, telemetry={"dashboard": False})
    run = run_task(apply_service(service))
    assert [(s.action, s.kind) for s in run.steps.all()] == [("delete", "ConfigMap")]
    assert not any(p.name.startswith("configmap-") for p in (gitops_repo.path / "ledger").iterdir())
    assert not dashboard.exists()


def test_drift_check_reports_an_edit_made_behind_the_portals_back(team, platform, gitops_repo):
    service = register(name="ledger")
    run_task(apply_service(service))
    path = gitops_repo.path / "ledger" / "destinationrule-ledger.yaml"
    body = yaml.safe_load(path.read_text())
    body["spec"]["trafficPolicy"]["loadBalancer"]["simple"] = "RANDOM"
    path.write_text(yaml.safe_dump(body))
    run = run_task(drift_check_service(service))
    assert run.status == RunStatus.SUCCEEDED and run.drift_found
    record = ManagedResource.objects.get(scope="service:ledger", kind="DestinationRule")
    assert record.status == "drifted"
    assert record.drift == [{"path": "spec.trafficPolicy.loadBalancer.simple", "old": "RANDOM", "new": "ROUND_ROBIN"}]
    assert "spec.trafficPolicy.loadBalancer.simple" in "\n".join(run.log_entries.values_list("message", flat=True))
    # Re-applying converges and clears the mark.
    run_task(apply_service(service))
    record.refresh_from_db()
    assert record.status == "applied" and record.drift == []


def test_destroy_removes_every_file_then_the_catalog_row(team, platform, gitops_repo):
    service = register(name="ledger", telemetry={"dashboard": True})
    run_task(apply_service(service))
    run = run_task(destroy_service(service))
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert not (gitops_repo.path / "ledger").exists()
    assert not ManagedResource.objects.filter(scope="service:ledger").exists()
    from portal.catalog.models import Service

    assert not Service.objects.filter(name="ledger").exists()
    assert ProvisioningRun.objects.filter(scope="service:ledger").count() == 2


def test_every_rendered_object_passes_the_preflight(team, platform, gitops_repo):
    service = register(name="ledger", telemetry={"dashboard": True, "slo": {"availability": 99.9}})
    run = run_task(apply_service(service))
    events = list(run.log_entries.values_list("event", flat=True))
    assert "provisioning.preflight.unchecked" not in events


def test_an_invalid_object_fails_the_preflight_before_any_write(team, platform, gitops_repo):
    from provisioning.errors import PermanentError
    from provisioning.models import ProvisioningRun
    from provisioning.resources import k8s

    run = ProvisioningRun.objects.create(scope="service:x", action="apply")
    bad = k8s(
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "DestinationRule",
            "metadata": {"name": "x", "namespace": "x"},
            "spec": {"host": "x", "trafficPolicy": {"loadBalancr": {"simple": "RANDOM"}}},
        }
    )
    with pytest.raises(PermanentError, match="loadBalancr"):
        Engine().preflight(run, [bad])
