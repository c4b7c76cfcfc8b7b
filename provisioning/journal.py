"""What a run writes as it goes: its log lines, its heartbeat, and the check between steps that it was not
cancelled. The engine and the run lifecycle both write here."""

import logging

from django.utils import timezone

from .choices import RunStatus
from .errors import RunCancelled
from .models import ProvisioningRun, RunLogEntry

logger = logging.getLogger("provisioning")


def log(run: ProvisioningRun, event: str, message: str = "", level: str = "info", **extra) -> None:
    """A line of the run's log (read on its page), also sent to the process log as an event."""
    RunLogEntry.objects.create(run=run, event=event, message=message, level=level, extra=extra)
    getattr(logger, "warning" if level == "warning" else "error" if level == "error" else "info")(
        event, extra={"run": run.pk, "scope": run.scope, **{f"x_{k}": v for k, v in extra.items()}}
    )


def heartbeat(run: ProvisioningRun) -> None:
    """The worker still has the run: the reaper leaves it alone for another lease."""
    run.heartbeat_at = timezone.now()
    ProvisioningRun.objects.filter(pk=run.pk).update(heartbeat_at=run.heartbeat_at)


def check_cancel(run: ProvisioningRun) -> None:
    """Between steps: stop if someone cancelled the run."""
    heartbeat(run)
    if ProvisioningRun.objects.filter(pk=run.pk, status=RunStatus.CANCELLED).exists():
        raise RunCancelled(f"run #{run.pk} was cancelled")
