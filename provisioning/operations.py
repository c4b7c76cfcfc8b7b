"""What people and automation ask of the engine: plan, apply, destroy, drift check, approve."""

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.catalog.choices import ServiceState
from portal.catalog.models import Service

from .approvals import approval_reasons
from .choices import RunAction, RunStatus
from .errors import PermanentError, ProvisioningError
from .models import Plan, ProvisioningRun
from .reconcile import Engine, execute, last_applied_snapshot, platform_state, service_state, stored_snapshot
from .runs import (
    RunInProgress,
    active_run,
    audit,
    claim,
    enqueue,
    enqueue_drift_batch,
    finish,
    log,
    request_run,
)
from .scopes import PLATFORM_KEY, service_key
from .snapshot import load_service

logger = logging.getLogger("provisioning")


def plan_service(service: Service, user=None, engine: Engine | None = None) -> Plan:
    """Compute and store a plan now; nothing is changed."""
    engine = engine or Engine()
    scope = service_state(service.name, engine.platform)
    plan, _ = engine.plan(scope, action=RunAction.APPLY, user=user, last_applied=last_applied_snapshot(scope.key))
    return plan


def apply_service(service: Service, user=None, plan: Plan | None = None, force: bool = False) -> ProvisioningRun:
    """Queue an apply; when the change needs an SRE (internet exposure), plan now and wait for approval."""
    if service.state != ServiceState.ACTIVE:
        raise PermanentError(f"{service.name} is {service.get_state_display().lower()}; it cannot be applied")
    scope = service_key(service.name)
    current = active_run(scope)
    if current is not None:
        raise RunInProgress(current)
    snapshot = stored_snapshot(load_service(service.name))
    reasons = approval_reasons(snapshot, last_applied_snapshot(scope))
    if reasons and (plan is None or plan.catalog_revision != service.revision):
        # The SRE approves what they can see: a plan made now.
        plan = plan_service(service, user)
    return request_run(
        scope, RunAction.APPLY, service=service, user=user, plan=plan, force=force, approval_reasons=reasons
    )


def destroy_service(service: Service, user=None) -> ProvisioningRun:
    """Delete everything the service owns, then its catalog row (kept, marked, if that fails)."""
    routed_from = sorted(service.routed_from.values_list("exposure__service__name", flat=True))
    if routed_from:
        raise PermanentError(f"{', '.join(routed_from)} route requests to {service.name}; remove those routes first")
    with transaction.atomic():
        run = request_run(service_key(service.name), RunAction.DESTROY, service=service, user=user)
        Service.objects.filter(pk=service.pk).update(state=ServiceState.DELETING)
    return run


def drift_check_service(service: Service, user=None) -> ProvisioningRun:
    return request_run(service_key(service.name), RunAction.DRIFT_CHECK, service=service, user=user)


def request_drift_checks(batch_size: int | None = None) -> int:
    """Queue a drift check for every active service that has no run in progress, sent to workers in batches
    (by team, so a batch shares its team's reads) that read ahead once for all their services."""
    batch_size = batch_size or settings.PORTAL_DRIFT_BATCH_SIZE
    services = list(Service.objects.filter(state=ServiceState.ACTIVE).order_by("team__slug", "name").only("pk", "name"))
    count = 0
    for start in range(0, len(services), batch_size):
        batch = []
        with transaction.atomic():  # a batch's runs in one commit
            for service in services[start : start + batch_size]:
                try:
                    with transaction.atomic():  # a savepoint: one service's failure leaves the batch usable
                        run = request_run(service_key(service.name), RunAction.DRIFT_CHECK, service=service, send=False)
                except RunInProgress:
                    continue
                except Exception:
                    logger.exception("provisioning.drift.request_failed", extra={"service": service.name})
                    continue
                batch.append(run.pk)
        if batch:
            enqueue_drift_batch(batch)
            count += len(batch)
    return count


def approve_run(run: ProvisioningRun, user) -> ProvisioningRun:
    """An SRE lets a waiting run go ahead; the worker plans again and applies if nothing changed."""
    if run.requested_by_id is not None and run.requested_by_id == user.pk:
        raise PermanentError("the requester cannot approve their own change; ask another SRE")
    with transaction.atomic():
        updated = ProvisioningRun.objects.filter(pk=run.pk, status=RunStatus.AWAITING_APPROVAL).update(
            status=RunStatus.QUEUED, approved_by=user, approved_at=timezone.now()
        )
        if not updated:
            raise PermanentError(f"run #{run.pk} is not awaiting approval (it is {run.status})")
        run.refresh_from_db()
        log(run, "provisioning.run.approved", f"approved by {user.username}", user=user.username)
        audit("run.approve", run, actor=user)
        transaction.on_commit(lambda: enqueue(run.pk))
    return run


def reject_run(run: ProvisioningRun, user, reason: str) -> ProvisioningRun:
    if not reason.strip():
        raise PermanentError("a rejection needs a reason the requester can read")
    updated = ProvisioningRun.objects.filter(pk=run.pk, status=RunStatus.AWAITING_APPROVAL).update(
        status=RunStatus.CANCELLED, rejection_reason=reason, error=f"rejected: {reason}", finished_at=timezone.now()
    )
    if not updated:
        raise PermanentError(f"run #{run.pk} is not awaiting approval (it is {run.status})")
    run.refresh_from_db()
    log(run, "provisioning.run.rejected", reason, user=user.username)
    audit("run.reject", run, actor=user, detail=reason)
    return run


# --- the platform layer -------------------------------------------------------------------------------


def plan_platform(user=None, engine: Engine | None = None) -> Plan:
    engine = engine or Engine()
    plan, _ = engine.plan(platform_state(engine.platform), action=RunAction.APPLY, user=user)
    return plan


def apply_platform(user=None) -> ProvisioningRun:
    """Plan now and wait for a second SRE: every service relies on the platform layer."""
    current = active_run(PLATFORM_KEY)
    if current is not None:
        raise RunInProgress(current)
    plan = plan_platform(user)
    if not plan.has_changes:
        raise PermanentError("the platform layer is already up to date; there is nothing to apply")
    return request_run(PLATFORM_KEY, RunAction.APPLY, user=user, plan=plan, approval_reasons=plan.approval_reasons)


def bootstrap_platform_layer(engine: Engine | None = None) -> ProvisioningRun:
    """Plan and apply the platform layer in this process, approved by the operator running bootstrap."""
    with transaction.atomic():
        try:
            run = ProvisioningRun.objects.create(scope=PLATFORM_KEY, action=RunAction.APPLY, approved_at=timezone.now())
        except IntegrityError:
            raise RunInProgress(active_run(PLATFORM_KEY)) from None
    log(run, "provisioning.run.requested", "bootstrap: approved by the operator running it")
    claimed = claim(run.pk, "bootstrap")
    try:
        execute(claimed, engine)
    except ProvisioningError as exc:
        finish(claimed, RunStatus.FAILED, str(exc))
    return ProvisioningRun.objects.get(pk=run.pk)
