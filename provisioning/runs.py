"""Run lifecycle: request (with the per-service lock), claim by a worker, heartbeat, log, finish.

The lock is a database constraint: one unfinished run per scope. It survives a dead worker,
because the reaper releases runs whose heartbeat stopped (retrying or failing them).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from .choices import ACTIVE_STATUSES, WORKING_STATUSES, RunAction, RunStatus, StepStatus
from .errors import PermanentError
from .models import ProvisioningRun, RunLogEntry, RunStep

logger = logging.getLogger("provisioning")


def lease() -> timedelta:
    return timedelta(seconds=settings.PORTAL_RUN_LEASE_SECONDS)


def max_attempts() -> int:
    return settings.PORTAL_RUN_MAX_ATTEMPTS


def requeue_after() -> timedelta:
    """A queued run whose message never reached a worker (broker down, message lost) is sent again."""
    return timedelta(seconds=settings.PORTAL_RUN_REQUEUE_SECONDS)


def audit(action: str, run: ProvisioningRun, *, actor=None, detail: str = "") -> None:
    from portal.audit.context import current_request
    from portal.audit.log import record

    record(
        action,
        "run",
        str(run.pk),
        actor=actor,
        request=current_request(),
        team="",
        after={"scope": run.scope, "action": run.action, "status": run.status},
        detail=detail or run.scope,
        source="" if current_request() else "worker",
    )


class RunInProgress(Exception):
    def __init__(self, run: ProvisioningRun):
        self.run = run
        super().__init__(
            f"run #{run.pk} ({run.action}, {run.get_status_display().lower()}) is already in progress for "
            f"{run.scope.removeprefix('service:')}; wait for it to finish or cancel it"
        )


class RunCancelled(Exception):
    pass


def active_run(scope: str) -> ProvisioningRun | None:
    return ProvisioningRun.objects.filter(scope=scope, status__in=ACTIVE_STATUSES).first()


def request_run(
    scope: str,
    action: str,
    *,
    service=None,
    user=None,
    plan=None,
    force: bool = False,
    approval_reasons: list[str] | None = None,
    send: bool = True,
):
    """Create a run and enqueue it when the transaction commits; refuse if one is in progress.

    With ``approval_reasons`` the run waits for an SRE instead of going to a worker; with ``send=False`` the
    caller sends it (the drift sweep, in batches; the reaper resends a queued run nobody sent).
    """
    status = RunStatus.AWAITING_APPROVAL if approval_reasons else RunStatus.QUEUED
    try:
        with transaction.atomic():
            run = ProvisioningRun.objects.create(
                scope=scope,
                service=service,
                action=action,
                status=status,
                requested_by=user if getattr(user, "pk", None) else None,
                plan=plan,
                force_conflicts=force,
            )
    except IntegrityError:
        existing = active_run(scope)
        if existing is None:  # finished in between: try once more
            return request_run(
                scope,
                action,
                service=service,
                user=user,
                plan=plan,
                force=force,
                approval_reasons=approval_reasons,
                send=send,
            )
        raise RunInProgress(existing) from None
    log(run, "provisioning.run.requested", f"{action} requested", user=getattr(user, "username", None))
    audit("run.request", run, actor=user, detail=f"{action}" + (" (awaiting approval)" if approval_reasons else ""))
    if approval_reasons:
        log(run, "provisioning.run.awaiting_approval", "; ".join(approval_reasons))
    elif send:
        transaction.on_commit(lambda: enqueue(run.pk))
    return run


def enqueue(run_id: int) -> None:
    """Send the run to a worker. If the broker is down the run stays queued and the reaper resends it."""
    from .tasks import execute_run

    try:
        execute_run.apply_async(args=[run_id], retry=False)
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
    from .tasks import drift_check_batch

    try:
        drift_check_batch.apply_async(args=[run_ids], retry=False)
    except Exception as exc:
        logger.warning("provisioning.drift.enqueue_failed", extra={"runs": len(run_ids), "error": str(exc)})


def claim(run_id: int, task_id: str) -> ProvisioningRun | None:
    """Take a queued run, or one whose worker died (stale heartbeat). None if someone else has it."""
    now = timezone.now()
    taken = ProvisioningRun.objects.filter(
        Q(status=RunStatus.QUEUED) | Q(status__in=WORKING_STATUSES, heartbeat_at__lt=now - lease()),
        pk=run_id,
    ).update(
        status=RunStatus.PLANNING,
        celery_task_id=task_id or "",
        attempts=F("attempts") + 1,
        heartbeat_at=now,
        started_at=now,
    )
    if not taken:
        return None
    run = ProvisioningRun.objects.get(pk=run_id)
    log(run, "provisioning.run.started", f"attempt {run.attempts} (task {task_id})")
    return run


def set_status(run: ProvisioningRun, status: str) -> None:
    run.status, run.heartbeat_at = status, timezone.now()
    ProvisioningRun.objects.filter(pk=run.pk).update(status=status, heartbeat_at=run.heartbeat_at)


def heartbeat(run: ProvisioningRun) -> None:
    run.heartbeat_at = timezone.now()
    ProvisioningRun.objects.filter(pk=run.pk).update(heartbeat_at=run.heartbeat_at)


def log(run: ProvisioningRun, event: str, message: str = "", level: str = "info", **extra) -> None:
    RunLogEntry.objects.create(run=run, event=event, message=message, level=level, extra=extra)
    getattr(logger, "warning" if level == "warning" else "error" if level == "error" else "info")(
        event, extra={"run": run.pk, "scope": run.scope, **{f"x_{k}": v for k, v in extra.items()}}
    )


def finish(run: ProvisioningRun, status: str, error: str = "") -> None:
    run.status, run.error, run.finished_at = status, error, timezone.now()
    ProvisioningRun.objects.filter(pk=run.pk).update(status=status, error=error, finished_at=run.finished_at)
    RunStep.objects.filter(run=run, status__in=[StepStatus.PENDING, StepStatus.RUNNING]).update(
        status=StepStatus.SKIPPED if status != RunStatus.FAILED else StepStatus.FAILED
    )
    log(run, f"provisioning.run.{status}", error, level="error" if status == RunStatus.FAILED else "info")
    audit(f"run.{status}", run, detail=f"{run.action} {run.scope}" + (f": {error}" if error else ""))
    if run.action == RunAction.DESTROY and status == RunStatus.FAILED and run.service_id:
        from portal.catalog.choices import ServiceState
        from portal.catalog.models import Service

        # A failed destroy keeps the catalog row, marked, so nothing is orphaned silently.
        Service.objects.filter(pk=run.service_id).update(state=ServiceState.DELETE_FAILED)


def requeue(run: ProvisioningRun, reason: str) -> None:
    """Back to the queue for another attempt (the worker retries with backoff)."""
    ProvisioningRun.objects.filter(pk=run.pk).update(status=RunStatus.QUEUED, heartbeat_at=timezone.now())
    run.status = RunStatus.QUEUED
    log(run, "provisioning.run.retrying", reason, level="warning")


def check_cancel(run: ProvisioningRun) -> None:
    """Between steps: stop if someone cancelled the run."""
    heartbeat(run)
    if ProvisioningRun.objects.filter(pk=run.pk, status=RunStatus.CANCELLED).exists():
        raise RunCancelled(f"run #{run.pk} was cancelled")


def cancel(run: ProvisioningRun, user=None, reason: str = "") -> None:
    if run.status not in ACTIVE_STATUSES:
        raise PermanentError(f"run #{run.pk} has already finished ({run.status})")
    ProvisioningRun.objects.filter(pk=run.pk).update(
        status=RunStatus.CANCELLED, finished_at=timezone.now(), error=reason or "cancelled"
    )
    run.refresh_from_db()
    log(run, "provisioning.run.cancelled", reason, user=getattr(user, "username", None))
    audit("run.cancel", run, actor=user, detail=reason)


def reap() -> dict[str, int]:
    """Release runs whose worker vanished and resend runs whose message never arrived."""
    now = timezone.now()
    counts = {"retried": 0, "failed": 0, "resent": 0}
    stale = ProvisioningRun.objects.filter(status__in=WORKING_STATUSES, heartbeat_at__lt=now - lease())
    for run in stale:
        if run.attempts >= max_attempts():
            updated = ProvisioningRun.objects.filter(pk=run.pk, heartbeat_at=run.heartbeat_at).update(
                status=RunStatus.FAILED,
                finished_at=now,
                error=f"the worker stopped answering and {run.attempts} attempts were used up",
            )
            if updated:
                counts["failed"] += 1
                log(run, "provisioning.run.failed", "worker lost; no attempts left", level="error")
            continue
        updated = ProvisioningRun.objects.filter(pk=run.pk, heartbeat_at=run.heartbeat_at).update(
            status=RunStatus.QUEUED, heartbeat_at=now
        )
        if updated:
            counts["retried"] += 1
            log(run, "provisioning.run.reaped", "the worker stopped answering; running it again", level="warning")
            enqueue(run.pk)
    lost = ProvisioningRun.objects.filter(status=RunStatus.QUEUED).filter(
        Q(heartbeat_at__lt=now - requeue_after()) | Q(heartbeat_at__isnull=True, created_at__lt=now - requeue_after())
    )
    for run in lost:
        if ProvisioningRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(heartbeat_at=now):
            counts["resent"] += 1
            enqueue(run.pk)
    return counts
