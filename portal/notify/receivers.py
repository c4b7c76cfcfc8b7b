"""Notifications of what provisioning reports (``provisioning.signals``)."""

from django.dispatch import receiver

from provisioning.choices import RunAction, RunStatus
from provisioning.signals import run_awaiting_approval, run_finished

from . import events


@receiver(run_finished, dispatch_uid="notify-run-finished")
def _finished(sender, run, status: str, **kwargs) -> None:
    if status == RunStatus.FAILED:
        events.run_failed(run)
    elif status == RunStatus.SUCCEEDED and run.action == RunAction.DRIFT_CHECK and run.drift_found:
        events.drift_found(run)


@receiver(run_awaiting_approval, dispatch_uid="notify-run-awaiting-approval")
def _awaiting_approval(sender, run, reasons: list[str], **kwargs) -> None:
    events.approval_waiting(run, reasons)
