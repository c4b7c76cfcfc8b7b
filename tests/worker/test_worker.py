"""Runs carried out by real Celery worker processes, including one killed in the middle of an apply."""

import threading

import pytest
from django.db import close_old_connections

from portal.catalog.api.serializers import ServiceSerializer
from portal.catalog.models import PlatformSettings, Team
from portal.catalog.services import create_service
from provisioning.choices import RunStatus
from provisioning.errors import RunInProgress
from provisioning.models import ProvisioningRun
from provisioning.operations import apply_service
from provisioning.runs.reaper import reap

from .fixtures import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cluster(settings, k8s_kubeconfig):
    settings.PORTAL_KUBECONFIG = k8s_kubeconfig
    settings.PORTAL_RUN_LEASE_SECONDS = 3
    platform = PlatformSettings.load()
    platform.kubernetes_target = "kubernetes"
    platform.save()


@pytest.fixture
def service(cluster):
    Team.objects.create(slug="payments", name="Payments")
    serializer = ServiceSerializer(data={"name": "ledger", "team": "payments", "telemetry": {"dashboard": True}})
    serializer.is_valid(raise_exception=True)
    return create_service(serializer.validated_data)


def status(run: ProvisioningRun) -> str:
    return ProvisioningRun.objects.values_list("status", flat=True).get(pk=run.pk)


def test_a_worker_process_applies_a_service(service, start_worker, k8s_double, django_capture_on_commit_callbacks):
    worker = start_worker()
    with django_capture_on_commit_callbacks(execute=True):
        run = apply_service(service)
    wait_for(lambda: status(run) in (RunStatus.SUCCEEDED, RunStatus.FAILED), 60, "the run to finish", worker)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.celery_task_id
    assert {o["kind"] for o in k8s_double.objects(namespace="ledger")} >= {"DestinationRule", "ServiceMonitor"}


def test_a_worker_killed_mid_apply_leaves_no_stuck_run(
    service, start_worker, k8s_double, django_capture_on_commit_callbacks
):
    k8s_double.slow_writes(0.4)
    first = start_worker("doomed")
    with django_capture_on_commit_callbacks(execute=True):
        run = apply_service(service)
    wait_for(
        lambda: status(run) == RunStatus.APPLYING and run.steps.filter(status="succeeded").count() >= 2,
        60,
        "the apply to be under way",
        first,
    )
    first.kill()
    assert status(run) == RunStatus.APPLYING  # the dead worker could not say anything

    second = start_worker("rescuer")
    # The reaper (celery beat runs it) notices the silent run once its lease has expired and sends it again;
    # with Redis the broker also redelivers the unacknowledged message. Only one of them can claim the run.
    wait_for(lambda: reap()["retried"] or status(run) != RunStatus.APPLYING, 30, "the reaper to release the run")
    wait_for(lambda: status(run) in (RunStatus.SUCCEEDED, RunStatus.FAILED), 90, "the rerun to finish", second)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.attempts >= 2
    names = [(o["kind"], o["metadata"]["name"]) for o in k8s_double.objects(namespace="ledger")]
    assert len(names) == len(set(names))
    assert ("ConfigMap", "ledger-dashboard") in names


def test_two_applies_of_one_service_at_once_one_runs_the_other_is_refused(service):
    outcomes: list[object] = []
    barrier = threading.Barrier(2)

    def request():
        barrier.wait()
        try:
            outcomes.append(apply_service(service))
        except RunInProgress as exc:
            outcomes.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=request) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    runs = [o for o in outcomes if isinstance(o, ProvisioningRun)]
    refused = [o for o in outcomes if isinstance(o, RunInProgress)]
    assert len(runs) == 1 and len(refused) == 1
    assert f"run #{runs[0].pk}" in str(refused[0]) and "already in progress for ledger" in str(refused[0])
