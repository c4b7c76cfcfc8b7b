"""Thin Celery tasks around the reconcile engine: ids in, explicit names, acks_late, time limits."""

import logging
import random

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError, connection

from .choices import RunStatus
from .errors import PermanentError, TemporaryError
from .models import ProvisioningRun
from .reconcile import execute
from .runs import RunCancelled, claim, finish, max_attempts, reap, requeue

logger = logging.getLogger("provisioning")

TEMPORARY = (TemporaryError, OperationalError, InterfaceError)


def backoff(attempt: int) -> float:
    """Exponential backoff with full jitter, capped at five minutes."""
    return random.uniform(0, min(300, 2 ** min(attempt, 8)))


@shared_task(
    name="provisioning.execute_run",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=1500,
    time_limit=1800,
    max_retries=None,
)
def execute_run(self, run_id: int) -> str:
    """Plan and (unless waiting for approval) apply, destroy or drift-check one run."""
    run = claim(run_id, self.request.id or "")
    if run is None:
        return "not claimed"
    status, retry = carry_out(run)
    if retry is not None:
        raise self.retry(exc=retry, countdown=backoff(run.attempts)) from retry
    return status


def carry_out(run: ProvisioningRun, engine=None, scope=None) -> tuple[str, Exception | None]:
    """Execute a claimed run and settle its outcome: its status, and the temporary error it was requeued for
    (the caller retries it with backoff) or None."""
    try:
        execute(run, engine, scope)
    except RunCancelled:
        return RunStatus.CANCELLED, None
    except TEMPORARY as exc:
        if isinstance(exc, OperationalError | InterfaceError):
            # The database went away (a restart, a failover): drop the dead connection; the next query
            # opens a new one, and if the database is still down this raises and the reaper takes over.
            connection.close()
        if run.attempts >= max_attempts():
            finish(run, RunStatus.FAILED, f"gave up after {run.attempts} attempts: {exc}")
            return RunStatus.FAILED, None
        requeue(run, f"temporary error, retrying: {exc}")
        return RunStatus.QUEUED, exc
    except PermanentError as exc:
        finish(run, RunStatus.FAILED, str(exc))
    except SoftTimeLimitExceeded:
        finish(run, RunStatus.FAILED, "the run exceeded its time limit")
    except Exception as exc:
        logger.exception("provisioning.run.crashed", extra={"run": run.pk})
        finish(run, RunStatus.FAILED, f"internal error: {exc.__class__.__name__}: {exc}")
    return ProvisioningRun.objects.values_list("status", flat=True).get(pk=run.pk), None


@shared_task(name="provisioning.drift_sweep", acks_late=True, soft_time_limit=3000, time_limit=3600)
def drift_sweep() -> int:
    """Periodic: a drift check of every active service (skipping those with a run in progress)."""
    from .operations import request_drift_checks

    return request_drift_checks()


@shared_task(
    name="provisioning.drift_check_batch",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=1500,
    time_limit=1800,
)
def drift_check_batch(self, run_ids: list[int]) -> dict[str, int]:
    """The sweep's drift checks of many services, reading ahead once for all of them; each run is claimed,
    carried out and finished on its own (one that hits a temporary error goes back to ``execute_run``)."""
    from .sweep import check_batch

    return check_batch(run_ids, self.request.id or "")


@shared_task(
    name="provisioning.bootstrap", bind=True, acks_late=True, soft_time_limit=1500, time_limit=1800, max_retries=5
)
def bootstrap_platform(self) -> dict:
    """Plan and apply the platform scope (its Kubernetes objects and shared AWS pieces) until converged;
    retried with backoff on temporary errors."""
    from .operations import bootstrap_platform

    try:
        runs = bootstrap_platform()
    except TemporaryError as exc:
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
    return {"runs": [run.pk for run in runs], "summaries": [run.plan.summary if run.plan else {} for run in runs]}


@shared_task(name="provisioning.reap_runs", acks_late=True, soft_time_limit=50, time_limit=60)
def reap_runs() -> dict[str, int]:
    """Periodic: release runs whose worker died; resend runs the broker never delivered."""
    return reap()
