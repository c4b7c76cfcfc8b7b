"""The drift sweep checks services in batches that read once for all of them: the same findings as checking them
one by one, with one list per kind in the cluster (not one per kind and namespace for each service) and one AWS
listing per resource type where AWS can list many at once."""

import boto3
import pytest
from django.apps import apps
from django.contrib.auth import get_user_model

from portal.audit.models import AuditEvent
from portal.catalog.models import Service
from portal.celery import app as celery_app
from provisioning.choices import RunAction, RunStatus
from provisioning.desired import SERVICE_KINDS
from provisioning.models import ManagedResource, ProvisioningRun
from provisioning.operations import apply_service, drift_check_service
from provisioning.runs.sweep import request_drift_checks
from provisioning.runs.tasks import drift_check_batch
from provisioning.scopes import service_of
from tests.k8sdouble.fixtures import real_cluster_kubeconfig

from .conftest import register, run_task

NAMES = ("ledger", "billing", "invoices")


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


@pytest.fixture
def swept():
    """Run the sweep's batches in this process, as a worker would; nothing is left in the broker."""

    def sweep(batch_size: int = 100) -> list[ProvisioningRun]:
        first = (ProvisioningRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
        assert request_drift_checks(batch_size) == len(NAMES)
        celery_app.control.purge()  # the batches it sent: carried out here instead
        runs = list(ProvisioningRun.objects.filter(pk__gte=first, action=RunAction.DRIFT_CHECK).order_by("pk"))
        assert {r.status for r in runs} == {RunStatus.QUEUED}
        for start in range(0, len(runs), batch_size):
            drift_check_batch.apply(args=[[r.pk for r in runs[start : start + batch_size]]])
        return [ProvisioningRun.objects.get(pk=r.pk) for r in runs]

    yield sweep
    celery_app.control.purge()


def applied(names=NAMES) -> None:
    for name in names:
        run = run_task(apply_service(register(name=name, telemetry={"dashboard": True})))
        assert run.status == RunStatus.SUCCEEDED, run.error


def tamper(dynamic_client, aws_logs) -> None:
    """An edit behind the portal's back in each of two services, and one in AWS for the third."""
    rules = dynamic_client.resources.get(api_version="networking.istio.io/v1", kind="DestinationRule")
    rules.patch(
        name="billing",
        namespace="billing",
        body={"spec": {"trafficPolicy": {"loadBalancer": {"simple": "RANDOM"}}}},
        content_type="application/merge-patch+json",
        field_manager="kubectl-edit",
    )
    monitors = dynamic_client.resources.get(api_version="monitoring.coreos.com/v1", kind="ServiceMonitor")
    monitors.delete(name="invoices", namespace="invoices")
    aws_logs.put_retention_policy(logGroupName="/eks/sandbox/payments/ledger", retentionInDays=7)


def findings() -> dict[str, tuple[str, list]]:
    return {
        r.key: (r.status, r.drift) for r in ManagedResource.objects.filter(scope__startswith="service:").order_by("key")
    }


def sandbox_logs():
    """A logs client of the test's own (not the portal's session: its calls are not the portal's)."""
    return boto3.session.Session().client("logs", region_name="ap-northeast-1")


def test_a_batch_lists_each_kind_once_and_finds_every_edit(team, cluster, double, dynamic_client, aws_calls, swept):
    applied()
    tamper(dynamic_client, sandbox_logs())
    double.clear_requests()
    aws_calls.restart()
    runs = swept()

    assert [r.status for r in runs] == [RunStatus.SUCCEEDED] * len(NAMES)
    assert {service_of(r.scope) for r in runs if r.drift_found} == set(NAMES)
    records = findings()
    billing = records["kubernetes|networking.istio.io/v1|DestinationRule|billing|billing"]
    assert billing == (
        "drifted",
        [{"path": "spec.trafficPolicy.loadBalancer.simple", "old": "RANDOM", "new": "ROUND_ROBIN"}],
    )
    assert records["kubernetes|monitoring.coreos.com/v1|ServiceMonitor|invoices|invoices"][0] == "missing"
    assert records["aws||logs.LogGroup||/eks/sandbox/payments/ledger"] == (
        "drifted",
        [{"path": "retention_days", "old": 7, "new": 30}],
    )
    changed = sorted(key for key, (status, _) in records.items() if status != "applied")
    assert changed == [
        "aws||logs.LogGroup||/eks/sandbox/payments/ledger",
        "kubernetes|monitoring.coreos.com/v1|ServiceMonitor|invoices|invoices",
        "kubernetes|networking.istio.io/v1|DestinationRule|billing|billing",
    ]

    requests = double.requests
    assert not [r for r in requests if r.is_write]
    lists = [(r.kind, r.namespace) for r in requests if r.kind and not r.name]
    assert sorted(lists) == sorted((kind, "") for _, kind in SERVICE_KINDS), "one list per kind, all namespaces"
    operations = [c.operation for c in aws_calls.calls]
    assert operations.count("GetResources") == 1  # up to 20 services a call
    assert operations.count("DescribeLogGroups") == 1  # one listing of the team's log groups
    assert not aws_calls.writes


def test_a_batch_finds_exactly_what_checks_one_by_one_find(team, cluster, dynamic_client, swept):
    applied()
    tamper(dynamic_client, sandbox_logs())
    runs = swept(batch_size=2)  # two batches: a batch never answers for services it did not read
    assert all(r.status == RunStatus.SUCCEEDED for r in runs)
    batched = findings()
    ManagedResource.objects.update(status="applied", drift=[])
    for name in NAMES:
        run = run_task(drift_check_service(Service.objects.get(name=name)))
        assert run.status == RunStatus.SUCCEEDED, run.error
    assert findings() == batched


def test_the_gitops_target_is_swept_in_batches_too(team, platform, gitops_repo, swept):
    applied()
    rule = gitops_repo.path / "billing" / "destinationrule-billing.yaml"
    rule.write_text(rule.read_text().replace("ROUND_ROBIN", "RANDOM"))
    runs = swept()
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED] * len(NAMES)
    assert [r.scope for r in runs if r.drift_found] == ["service:billing"]
    record = ManagedResource.objects.get(kind="DestinationRule", namespace="billing")
    assert record.drift == [{"path": "spec.trafficPolicy.loadBalancer.simple", "old": "RANDOM", "new": "ROUND_ROBIN"}]


def table_rows() -> dict[str, int]:
    return {m._meta.db_table: m.objects.count() for m in apps.get_models()}


def test_a_clean_sweep_adds_one_row_per_service_and_a_dirty_one_keeps_what_it_found(team, platform, gitops_repo, swept):
    applied()
    before = table_rows()
    runs = swept()
    after = table_rows()
    assert [r.drift_found for r in runs] == [False] * len(NAMES)
    grown = {table: after[table] - before[table] for table in after if after[table] != before[table]}
    assert grown == {"provisioning_provisioningrun": len(NAMES)}, "a clean check is its run row, nothing else"
    assert all(r.plan_id is None and r.finished_at for r in runs)
    assert ManagedResource.objects.filter(scope__startswith="service:", last_checked_at=None).count() == 0

    rule = gitops_repo.path / "billing" / "destinationrule-billing.yaml"
    rule.write_text(rule.read_text().replace("ROUND_ROBIN", "RANDOM"))
    (dirty,) = [r for r in swept() if r.drift_found]
    assert dirty.plan is not None and dirty.plan.summary["update"] == 1
    events = list(dirty.log_entries.values_list("event", flat=True))
    assert "provisioning.drift.found" in events and "provisioning.run.succeeded" in events
    assert AuditEvent.objects.filter(object_key=str(dirty.pk), action="run.succeeded").exists()


def test_a_drift_check_someone_asked_for_keeps_its_full_journal(team, platform, gitops_repo):
    applied(("ledger",))
    user = get_user_model().objects.create_user("dana")
    run = run_task(drift_check_service(Service.objects.get(name="ledger"), user))
    assert run.status == RunStatus.SUCCEEDED and not run.drift_found
    events = list(run.log_entries.values_list("event", flat=True))
    assert events[0] == "provisioning.run.requested" and events[-1] == "provisioning.run.succeeded"
