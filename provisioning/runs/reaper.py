"""Runs whose worker vanished (no heartbeat for a lease) go back to the queue, or fail when their attempts are
used up; queued runs whose message never reached a worker are sent again."""

from django.db.models import Q
from django.utils import timezone

from ..choices import WORKING_STATUSES, RunStatus
from ..journal import log
from ..models import ProvisioningRun
from ..signals import run_finished
from .dispatch import enqueue
from .lifecycle import lease, max_attempts, requeue_after


def reap() -> dict[str, int]:
    """Release runs whose worker vanished and resend runs whose message never arrived; how many of each."""
    now = timezone.now()
    counts = {"retried": 0, "failed": 0, "resent": 0}
    stale = ProvisioningRun.objects.filter(status__in=WORKING_STATUSES, heartbeat_at__lt=now - lease())
    for run in stale:
        if run.attempts >= max_attempts():
            error = f"the worker stopped answering and {run.attempts} attempts were used up"
            updated = ProvisioningRun.objects.filter(pk=run.pk, heartbeat_at=run.heartbeat_at).update(
                status=RunStatus.FAILED, finished_at=now, error=error
            )
            if updated:
                counts["failed"] += 1
                run.status, run.error, run.finished_at = RunStatus.FAILED, error, now
                log(run, "provisioning.run.failed", "worker lost; no attempts left", level="error")
                run_finished.send(ProvisioningRun, run=run, status=RunStatus.FAILED, error=error)
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
