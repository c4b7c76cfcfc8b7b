"""How runs reach a worker: the Celery task names (beat schedules and queued messages refer to them, so they never
change) and the messages sent to them. Messages go by task name, so this module needs nothing of the tasks
themselves; ``tasks`` registers the functions under the same names."""

import logging
import random

from celery import current_app

from ..models import RunLogEntry

logger = logging.getLogger("provisioning")

EXECUTE_RUN = "provisioning.execute_run"
DRIFT_SWEEP = "provisioning.drift_sweep"
DRIFT_CHECK_BATCH = "provisioning.drift_check_batch"
BOOTSTRAP = "provisioning.bootstrap"
REAP_RUNS = "provisioning.reap_runs"
COMPACT_RUNS = "provisioning.compact_runs"


def backoff(attempt: int) -> float:
    """Seconds to wait before the next attempt: exponential with full jitter, capped at five minutes."""
    return random.uniform(0, min(300, 2 ** min(attempt, 8)))


def enqueue(run_id: int, countdown: float | None = None) -> None:
    """Send the run to a worker. If the broker is down the run stays queued and the reaper resends it."""
    try:
        current_app.send_task(EXECUTE_RUN, args=[run_id], countdown=countdown, retry=False)
    except Exception as exc:
        logger.warning("provisioning.run.enqueue_failed", extra={"run": run_id, "error": str(exc)})
        RunLogEntry.objects.create(
            run_id=run_id,
            level="warning",
            event="provisioning.run.enqueue_failed",
            message=f"the broker did not take the run ({exc}); it will be sent again when the broker answers",
        )


def enqueue_drift_batch(run_ids: list[int]) -> None:
    """Send queued drift checks to a worker as one batch. If the broker is down they stay queued and the
    reaper resends each of them."""
    try:
        current_app.send_task(DRIFT_CHECK_BATCH, args=[run_ids], retry=False)
    except Exception as exc:
        logger.warning("provisioning.drift.enqueue_failed", extra={"runs": len(run_ids), "error": str(exc)})
