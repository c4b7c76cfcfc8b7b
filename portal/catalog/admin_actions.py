"""The admin's provisioning actions on services (re-apply, drift check), on the services' admin pages and on
those of their runs and resources. They go through the same operations as the pages and the API, report each
object's outcome, and are recorded in each object's admin history."""

from collections.abc import Callable

from django.contrib import messages

from provisioning.choices import RunStatus
from provisioning.errors import PermanentError, RunInProgress, TemporaryError
from provisioning.models import ProvisioningRun
from provisioning.operations import apply_service, drift_check_service
from provisioning.scopes import service_of

from .models import Service


def label(obj) -> str:
    """How the admin names an object in its messages."""
    if isinstance(obj, ProvisioningRun):
        return f"Run #{obj.pk} ({service_of(obj.scope) or obj.scope})"
    return str(obj)


def report(modeladmin, request, obj, verb: str, work: Callable[[], str]) -> None:
    """Run one object's action; tell the SRE what happened to it and record it in its admin history."""
    try:
        outcome = work()
    except RunInProgress as exc:
        modeladmin.message_user(request, f"{label(obj)}: not {verb}: {exc}.", messages.WARNING)
    except (PermanentError, TemporaryError) as exc:
        modeladmin.message_user(request, f"{label(obj)}: not {verb}: {exc}.", messages.ERROR)
    else:
        modeladmin.message_user(request, f"{label(obj)}: {outcome}", messages.SUCCESS)
        modeladmin.log_change(request, obj, f"{verb} in the admin: {outcome}")


def _apply(service: Service, user) -> str:
    run = apply_service(service, user)
    if run.status == RunStatus.AWAITING_APPROVAL:
        return f"run #{run.pk} waits for another SRE's approval"
    return f"run #{run.pk} queued"


def reapply_services(modeladmin, request, services) -> None:
    for service in services:
        report(modeladmin, request, service, "re-applied", lambda s=service: _apply(s, request.user))


def drift_check_services(modeladmin, request, services) -> None:
    for service in services:
        report(
            modeladmin,
            request,
            service,
            "drift-checked",
            lambda s=service: f"drift check #{drift_check_service(s, request.user).pk} queued",
        )
