"""The Celery tasks: ids in, explicit names (``dispatch``), acks_late. Their time limits are the settings'
(``CELERY_TASK_TIME_LIMIT`` / ``CELERY_TASK_SOFT_TIME_LIMIT``, and ``CELERY_TASK_ANNOTATIONS`` for a task that
needs its own), never the decorators'."""

from celery import shared_task

from ..errors import TemporaryError
from .bootstrap import bootstrap_platform as bootstrap_platform_scope
from .dispatch import BOOTSTRAP, COMPACT_RUNS, DRIFT_CHECK_BATCH, DRIFT_SWEEP, EXECUTE_RUN, REAP_RUNS, backoff
from .lifecycle import claim
from .perform import attempt
from .reaper import reap
from .retention import compact_runs as compact_run_history
from .sweep import check_batch, request_drift_checks


@shared_task(name=EXECUTE_RUN, bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def execute_run(self, run_id: int) -> str:
    """Plan and (unless waiting for approval) apply, destroy or drift-check one run."""
    run = claim(run_id, self.request.id or "")
    if run is None:
        return "not claimed"
    status, retry = attempt(run)
    if retry is not None:
        raise self.retry(exc=retry, countdown=backoff(run.attempts)) from retry
    return status


@shared_task(name=DRIFT_SWEEP, acks_late=True)
def drift_sweep() -> int:
    """Periodic: a drift check of every active service (skipping those with a run in progress)."""
    return request_drift_checks()


@shared_task(name=DRIFT_CHECK_BATCH, bind=True, acks_late=True, reject_on_worker_lost=True)
def drift_check_batch(self, run_ids: list[int]) -> dict[str, int]:
    """The sweep's drift checks of many services, reading ahead once for all of them; each run is claimed,
    carried out and finished on its own (one that hits a temporary error goes back to ``execute_run``)."""
    return check_batch(run_ids, self.request.id or "")


@shared_task(name=BOOTSTRAP, bind=True, acks_late=True, max_retries=5)
def bootstrap_platform(self) -> dict:
    """Plan and apply the platform scope (its Kubernetes objects and shared AWS pieces) until converged;
    retried with backoff on temporary errors."""
    try:
        runs = bootstrap_platform_scope()
    except TemporaryError as exc:
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
    return {"runs": [run.pk for run in runs], "summaries": [run.plan.summary if run.plan else {} for run in runs]}


@shared_task(name=REAP_RUNS, acks_late=True)
def reap_runs() -> dict[str, int]:
    """Periodic: release runs whose worker died; resend runs the broker never delivered."""
    return reap()


@shared_task(name=COMPACT_RUNS, acks_late=True)
def compact_runs() -> int:
    """Periodic: remove clean drift checks older than ``PORTAL_RUN_RETENTION_DAYS`` (each scope's newest stays)."""
    return compact_run_history()
