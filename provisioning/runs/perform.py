"""Carrying out one claimed run: plan (or reuse the plan just made), wait for an approval when needed, apply and
record; and settling how the attempt ended (finished, or back to the queue after a temporary error)."""

import logging
from datetime import datetime
from typing import NamedTuple

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from ..choices import ChangeAction, RunAction, RunStatus
from ..diff import Change
from ..engine import Engine, Scope, last_applied_snapshot, record_to_resource, run_scope
from ..errors import PermanentError, RunCancelled, TemporaryError
from ..journal import log
from ..models import ManagedResource, Plan, ProvisioningRun
from ..resources import Resource
from ..signals import run_awaiting_approval
from .lifecycle import finish, max_attempts, requeue, set_status

logger = logging.getLogger("provisioning")

TEMPORARY = (TemporaryError, OperationalError, InterfaceError)


class Attempt(NamedTuple):
    """How one attempt of a run ended: its status, and the temporary error it went back to the queue for (the
    caller sends it again with backoff), or None."""

    status: str
    retry: Exception | None = None


def attempt(run: ProvisioningRun, engine: Engine | None = None, scope: Scope | None = None) -> Attempt:
    """Carry out a claimed run and settle its outcome."""
    try:
        perform(run, engine, scope)
    except RunCancelled:
        return Attempt(RunStatus.CANCELLED)
    except TEMPORARY as exc:
        if isinstance(exc, OperationalError | InterfaceError):
            # The database went away (a restart, a failover): drop the dead connection; the next query
            # opens a new one, and if the database is still down this raises and the reaper takes over.
            connection.close()
        if run.attempts >= max_attempts():
            finish(run, RunStatus.FAILED, f"gave up after {run.attempts} attempts: {exc}")
            return Attempt(RunStatus.FAILED)
        requeue(run, f"temporary error, retrying: {exc}")
        return Attempt(RunStatus.QUEUED, exc)
    except PermanentError as exc:
        finish(run, RunStatus.FAILED, str(exc))
    except SoftTimeLimitExceeded:
        finish(run, RunStatus.FAILED, "the run exceeded its time limit")
    except Exception as exc:
        logger.exception("provisioning.run.crashed", extra={"run": run.pk})
        finish(run, RunStatus.FAILED, f"internal error: {exc.__class__.__name__}: {exc}")
    return Attempt(ProvisioningRun.objects.values_list("status", flat=True).get(pk=run.pk))


def perform(run: ProvisioningRun, engine: Engine | None = None, scope: Scope | None = None) -> None:
    """Carry out one claimed run: plan, wait for approval when needed, apply and record (``scope``: already
    built for this run, as the drift sweep does for a batch). Raises what stopped it."""
    engine = engine or Engine()
    scope = scope or run_scope(run, engine.platform)
    if run.action == RunAction.DRIFT_CHECK:
        changes = engine.drift(scope)
        run.drift_found = engine.record_drift(run, scope, changes)
        if run.drift_found:
            # What drifted is kept as a plan (what a re-apply would change); a clean check stores none: the
            # run row and the inventory's ``last_checked_at`` say when it was checked and that it was clean.
            run.plan = engine.store_plan(scope, changes, action=run.action)
        ProvisioningRun.objects.filter(pk=run.pk).update(plan=run.plan, drift_found=run.drift_found)
        finish(run, RunStatus.SUCCEEDED, "")
        return

    previous = run.plan
    changes = reusable_changes(run, scope)
    if changes is not None:
        # The plan just made (and approved, when it had to be) still holds: apply it without observing again.
        age = (timezone.now() - previous.created_at).total_seconds()
        log(
            run, "provisioning.plan.reused", f"applying plan #{previous.pk}, made {age:.0f}s ago; nothing changed since"
        )
    else:
        changes = _plan_again(run, engine, scope, previous)
        if changes is None:
            return  # the new plan waits for an SRE's approval

    set_status(run, RunStatus.APPLYING)
    engine.apply(run, scope, changes)
    if run.action == RunAction.DESTROY and scope.service_id is not None:
        # Everything the service owned is gone: its inventory goes, and the catalog drops the row when it hears
        # that the destroy succeeded (``signals.run_finished``), in the same commit.
        with transaction.atomic():
            ManagedResource.objects.filter(service_id=scope.service_id).delete()
            log(run, "provisioning.service.deleted", f"{run.scope} and everything it owned are gone")
            finish(run, RunStatus.SUCCEEDED, "")
        return
    finish(run, RunStatus.SUCCEEDED, "")


def _plan_again(run: ProvisioningRun, engine: Engine, scope: Scope, previous: Plan | None) -> list[Change] | None:
    """Observe and plan now; the changes to apply, or None when the new plan waits for an SRE's approval."""
    plan, changes = engine.plan(
        scope, action=run.action, user=run.requested_by, last_applied=last_applied_snapshot(scope.key)
    )
    if previous is not None and previous.fingerprint != plan.fingerprint:
        log(
            run,
            "provisioning.plan.stale",
            f"the catalog changed since plan #{previous.pk}; planned again as #{plan.pk}",
        )
    # An approval holds for the desired state that was approved (the plan the SRE saw), not for later edits.
    approved = run.approved_at is not None and (previous is None or previous.fingerprint == plan.fingerprint)
    if previous is not None and previous.fingerprint == plan.fingerprint and previous.changes == plan.changes:
        plan.delete()  # the stored plan still holds: keep one row
        plan = previous
    run.plan = plan
    ProvisioningRun.objects.filter(pk=run.pk).update(plan=plan)
    log(run, "provisioning.plan.ready", _summary_line(plan.summary), plan=plan.pk, **plan.summary)

    if plan.requires_approval and not approved:
        # An approval of an earlier plan does not carry over to this one.
        ProvisioningRun.objects.filter(pk=run.pk).update(approved_by=None, approved_at=None)
        run.approved_by, run.approved_at = None, None
        set_status(run, RunStatus.AWAITING_APPROVAL)
        log(run, "provisioning.run.awaiting_approval", "; ".join(plan.approval_reasons))
        run_awaiting_approval.send(ProvisioningRun, run=run, reasons=list(plan.approval_reasons))
        return None
    return changes


def reusable_changes(run: ProvisioningRun, scope: Scope) -> list[Change] | None:
    """The changes of the run's stored plan when applying it as planned is as good as planning again; else None.

    That holds for an apply's first attempt, of a plan made at most ``PORTAL_PLAN_REUSE_SECONDS`` ago for exactly
    today's desired state (same fingerprint, same digest per resource), with no other run of the scope finished
    since and approved when it needs approval. Everything else plans again: a retry after a killed worker, an
    approval that took a while, a catalog or platform edit. The writes stay safe on a plan that is a little old:
    every step looks its resource up (or applies server-side) before it writes, and deletes tolerate absence.
    """
    plan = run.plan
    if plan is None or not plan_may_be_reused(
        run, plan, scope, now=timezone.now(), window=settings.PORTAL_PLAN_REUSE_SECONDS
    ):
        return None
    finished_since = ProvisioningRun.objects.filter(scope=scope.key, finished_at__gte=plan.created_at)
    if finished_since.exclude(pk=run.pk).exists():
        return None
    doomed = [entry["key"] for entry in plan.changes if entry["action"] == ChangeAction.DELETE]
    recorded = {row.key: record_to_resource(row) for row in ManagedResource.objects.filter(key__in=doomed)}
    return planned_changes(plan, scope, recorded)


def plan_may_be_reused(run: ProvisioningRun, plan: Plan, scope: Scope, *, now: datetime, window: int) -> bool:
    """Whether the run may apply ``plan`` without observing again, as far as the run and the plan tell: an apply's
    first attempt, a plan of this scope's apply made at most ``window`` seconds before ``now`` for today's desired
    state, approved when it needs approval."""
    if window <= 0 or run.action != RunAction.APPLY or run.attempts > 1:
        return False
    if plan.scope != scope.key or plan.action != RunAction.APPLY or plan.fingerprint != scope.fingerprint:
        return False
    if (now - plan.created_at).total_seconds() > window:
        return False
    return not (plan.requires_approval and run.approved_at is None)


def planned_changes(plan: Plan, scope: Scope, recorded: dict[str, Resource]) -> list[Change] | None:
    """The plan's changes made of today's desired resources and the inventory's ``recorded`` ones (by key), or
    None when any of them no longer is what was planned."""
    desired = {r.key: r for r in scope.desired}
    planned = {entry["key"]: entry for entry in plan.changes}
    if set(desired) - set(planned):
        return None
    changes: list[Change] = []
    for key, entry in planned.items():
        if entry["action"] == ChangeAction.DELETE:
            if key not in recorded or key in desired:
                return None  # found by labels or tags, not in the inventory: only a fresh observe knows it
            changes.append(Change(ChangeAction.DELETE, recorded[key]))
        else:
            resource = desired.get(key)
            if resource is None or resource.digest != entry["digest"]:
                return None
            changes.append(Change(entry["action"], resource))
    return changes


def _summary_line(summary: dict) -> str:
    return ", ".join(f"{summary.get(k, 0)} to {k}" for k in ("create", "update", "delete")) + (
        f", {summary.get('unchanged', 0)} unchanged"
    )
