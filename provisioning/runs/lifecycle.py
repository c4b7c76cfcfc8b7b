"""The run state machine: request (with the per-scope lock), claim by a worker, status, finish, requeue. The
transitions people make (approve, reject, cancel) are in ``provisioning.operations``.

The lock is a database constraint: one unfinished run per scope. It survives a dead worker, because the reaper
releases runs whose heartbeat stopped (retrying or failing them). What happened is reported through
``provisioning.signals``; portal's receivers keep the audit log and the catalog rows.
"""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from ..choices import WORKING_STATUSES, RunStatus, StepStatus
from ..errors import RunInProgress
from ..journal import log
from ..models import ProvisioningRun, RunStep
from ..queries import active_run
from ..signals import run_awaiting_approval, run_finished, run_requested
from .dispatch import enqueue


def lease() -> timedelta:
    """How long a run may go without a heartbeat before its worker is presumed dead."""
    return timedelta(seconds=settings.PORTAL_RUN_LEASE_SECONDS)


def max_attempts() -> int:
    return settings.PORTAL_RUN_MAX_ATTEMPTS


def requeue_after() -> timedelta:
    """A queued run whose message never reached a worker (broker down, message lost) is sent again."""
    return timedelta(seconds=settings.PORTAL_RUN_REQUEUE_SECONDS)


def request_run(
    scope: str,
    action: str,
    *,
    service_id: int | None = None,
    user=None,
    plan=None,
    force: bool = False,
    approval_reasons: list[str] | None = None,
    send: bool = True,
) -> ProvisioningRun:
    """Create a run and enqueue it when the transaction commits; refuse if one is in progress.

    With ``approval_reasons`` the run waits for an SRE instead of going to a worker; with ``send=False`` the
    caller sends it (the drift sweep, in batches; the reaper resends a queued run nobody sent).
    """
    status = RunStatus.AWAITING_APPROVAL if approval_reasons else RunStatus.QUEUED
    try:
        with transaction.atomic():
            run = ProvisioningRun.objects.create(
                scope=scope,
                service_id=service_id,
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
                service_id=service_id,
                user=user,
                plan=plan,
                force=force,
                approval_reasons=approval_reasons,
                send=send,
            )
        raise RunInProgress(existing) from None
    if not run.routine:
        log(run, "provisioning.run.requested", f"{action} requested", user=getattr(user, "username", None))
    run_requested.send(ProvisioningRun, run=run, actor=user, awaiting_approval=bool(approval_reasons))
    if approval_reasons:
        log(run, "provisioning.run.awaiting_approval", "; ".join(approval_reasons))
        run_awaiting_approval.send(ProvisioningRun, run=run, reasons=list(approval_reasons))
    elif send:
        transaction.on_commit(lambda: enqueue(run.pk))
    return run


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
    if not run.routine or run.attempts > 1:
        log(run, "provisioning.run.started", f"attempt {run.attempts} (task {task_id})")
    return run


def set_status(run: ProvisioningRun, status: str) -> None:
    run.status, run.heartbeat_at = status, timezone.now()
    ProvisioningRun.objects.filter(pk=run.pk).update(status=status, heartbeat_at=run.heartbeat_at)


def finish(run: ProvisioningRun, status: str, error: str = "") -> None:
    """The run succeeded or failed: its open steps are closed and ``run_finished`` is sent."""
    run.status, run.error, run.finished_at = status, error, timezone.now()
    ProvisioningRun.objects.filter(pk=run.pk).update(status=status, error=error, finished_at=run.finished_at)
    RunStep.objects.filter(run=run, status__in=[StepStatus.PENDING, StepStatus.RUNNING]).update(
        status=StepStatus.SKIPPED if status != RunStatus.FAILED else StepStatus.FAILED
    )
    if not (run.routine and status == RunStatus.SUCCEEDED and not run.drift_found):
        log(run, f"provisioning.run.{status}", error, level="error" if status == RunStatus.FAILED else "info")
    run_finished.send(ProvisioningRun, run=run, status=status, error=error)


def requeue(run: ProvisioningRun, reason: str) -> None:
    """Back to the queue for another attempt (the worker retries with backoff)."""
    ProvisioningRun.objects.filter(pk=run.pk).update(status=RunStatus.QUEUED, heartbeat_at=timezone.now())
    run.status = RunStatus.QUEUED
    log(run, "provisioning.run.retrying", reason, level="warning")
