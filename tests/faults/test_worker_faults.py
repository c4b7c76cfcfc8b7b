"""A worker SIGKILLed at any step, and PostgreSQL dropping every connection mid-run: no run stays stuck,
nothing is created twice, and the run converges."""

import pytest
from django.db import connection

from portal.catalog.api.serializers import ServiceSerializer
from portal.catalog.models import PlatformSettings, Team
from portal.catalog.services import create_service
from provisioning.choices import RunStatus
from provisioning.models import ProvisioningRun, RunStep
from provisioning.operations import apply_service
from provisioning.runs.reaper import reap
from tests.worker.fixtures import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED)


@pytest.fixture
def service(settings, k8s_kubeconfig, k8s_double):
    settings.PORTAL_KUBECONFIG = k8s_kubeconfig
    settings.PORTAL_RUN_LEASE_SECONDS = 3
    platform = PlatformSettings.load()
    platform.kubernetes_target = "kubernetes"
    platform.save()
    Team.objects.create(slug="payments", name="Payments")
    serializer = ServiceSerializer(data={"name": "ledger", "team": "payments", "telemetry": {"dashboard": True}})
    serializer.is_valid(raise_exception=True)
    k8s_double.slow_writes(0.6)
    return create_service(serializer.validated_data)


def status(run) -> str:
    return ProvisioningRun.objects.values_list("status", flat=True).get(pk=run.pk)


def succeeded_steps(run) -> int:
    return RunStep.objects.filter(run=run, status="succeeded").count()


def assert_converged(run, k8s_double) -> None:
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    names = [(o["kind"], o["metadata"]["name"]) for o in k8s_double.objects(namespace="ledger")]
    assert len(names) == len(set(names)), "an object exists twice"
    assert ("ConfigMap", "ledger-dashboard") in names and ("DestinationRule", "ledger") in names


def healthy(client) -> bool:
    """The portal keeps answering its health check through the fault (database and broker answer)."""
    return client.get("/healthz").status_code == 200


@pytest.mark.parametrize("killed_after", ["planning", 0, 1, "half", "last"])
def test_a_worker_killed_at_any_step_leaves_no_stuck_run(
    killed_after, service, start_worker, k8s_double, django_capture_on_commit_callbacks, client
):
    doomed = start_worker("doomed")
    with django_capture_on_commit_callbacks(execute=True):
        run = apply_service(service)

    def reached() -> bool:
        current = status(run)
        if killed_after == "planning":
            return current in (RunStatus.PLANNING, RunStatus.APPLYING)
        if current != RunStatus.APPLYING:
            return False
        # Kubernetes writes are the slow ones here (the double holds each), so "last" is the last of them.
        total = RunStep.objects.filter(run=run, provider="kubernetes").count()
        wanted = {"half": total // 2, "last": total - 1}.get(killed_after, killed_after)
        return total > 0 and succeeded_steps(run) >= wanted

    wait_for(reached, 60, f"the run to reach {killed_after!r}", doomed)
    doomed.kill()
    assert status(run) not in FINISHED
    assert healthy(client)

    rescuer = start_worker("rescuer")
    wait_for(lambda: reap()["retried"] or status(run) in FINISHED, 30, "the reaper to release the run")
    wait_for(lambda: status(run) in FINISHED, 120, "the rerun to finish", rescuer)
    assert_converged(run, k8s_double)
    assert ProvisioningRun.objects.get(pk=run.pk).attempts >= 2
    assert healthy(client)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="drops PostgreSQL connections; CI runs it")
def test_postgresql_dropping_every_connection_mid_run(
    service, start_worker, k8s_double, django_capture_on_commit_callbacks, client
):
    worker = start_worker()
    with django_capture_on_commit_callbacks(execute=True):
        run = apply_service(service)
    wait_for(lambda: status(run) == RunStatus.APPLYING and succeeded_steps(run) >= 2, 60, "the apply", worker)
    # What a restart or failover does to every client: all sessions on the database are terminated.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchone()[0] >= 1
    assert healthy(client), "a dropped connection is replaced at the next request"
    wait_for(lambda: reap() is not None and status(run) in FINISHED, 120, "the run to finish", worker)
    assert_converged(run, k8s_double)
    assert healthy(client)
