"""Audit records of runs, from what provisioning reports (``provisioning.signals``): who asked for what, who
approved, rejected or cancelled it, and how it ended."""

from django.dispatch import receiver

from portal.audit.context import current_request
from portal.audit.log import record
from provisioning.choices import RunStatus
from provisioning.signals import run_approved, run_cancelled, run_finished, run_rejected, run_requested


def _record(action: str, run, *, actor=None, detail: str = "") -> None:
    request = current_request()
    record(
        action,
        "run",
        str(run.pk),
        actor=actor,
        request=request,
        team="",
        after={"scope": run.scope, "action": run.action, "status": run.status},
        detail=detail or run.scope,
        source="" if request else "worker",
    )


@receiver(run_requested, dispatch_uid="audit-run-requested")
def _requested(sender, run, actor, awaiting_approval: bool, **kwargs) -> None:
    if run.routine:
        return  # the sweep's checks: audited when they find drift or fail
    _record("run.request", run, actor=actor, detail=run.action + (" (awaiting approval)" if awaiting_approval else ""))


@receiver(run_approved, dispatch_uid="audit-run-approved")
def _approved(sender, run, actor, **kwargs) -> None:
    _record("run.approve", run, actor=actor)


@receiver(run_rejected, dispatch_uid="audit-run-rejected")
def _rejected(sender, run, actor, reason: str, **kwargs) -> None:
    _record("run.reject", run, actor=actor, detail=reason)


@receiver(run_cancelled, dispatch_uid="audit-run-cancelled")
def _cancelled(sender, run, actor, reason: str, **kwargs) -> None:
    _record("run.cancel", run, actor=actor, detail=reason)


@receiver(run_finished, dispatch_uid="audit-run-finished")
def _finished(sender, run, status: str, error: str, **kwargs) -> None:
    if run.routine and status == RunStatus.SUCCEEDED and not run.drift_found:
        return
    _record(f"run.{status}", run, detail=f"{run.action} {run.scope}" + (f": {error}" if error else ""))
