"""What people and automation ask of provisioning: plan, apply, destroy, drift check, approve, reject, cancel.

The public entry points portal may call (with ``queries`` for reading). A service is passed as its catalog row;
its state and routes are read through ``snapshot``.
"""

from django.db import transaction
from django.utils import timezone

from .apply.aws.sandbox import SandboxNetwork, sandbox_network
from .approvals import approval_reasons
from .aws.clients import counting
from .aws.errors import aws_errors
from .choices import ACTIVE_STATUSES, RunAction, RunStatus
from .engine import Engine, last_applied_snapshot, platform_scope, service_scope, stored_snapshot
from .errors import PermanentError, RunInProgress
from .journal import log
from .models import Plan, ProvisioningRun
from .queries import active_run
from .runs import bootstrap
from .runs.dispatch import enqueue
from .runs.lifecycle import request_run
from .scopes import PLATFORM_KEY, service_key
from .signals import run_approved, run_cancelled, run_rejected
from .snapshot import is_active, load_service, platform_snapshot, routed_from, service_editor_ids
from .targets import AwsBackend


def plan_service(service, user=None, engine: Engine | None = None) -> Plan:
    """Compute and store a plan now; nothing is changed."""
    engine = engine or Engine()
    last_applied = last_applied_snapshot(service_key(service.name))
    scope = service_scope(service.name, engine.platform, last_applied=last_applied)
    plan, _ = engine.plan(scope, action=RunAction.APPLY, user=user, last_applied=last_applied)
    return plan


def apply_service(service, user=None, plan: Plan | None = None, force: bool = False) -> ProvisioningRun:
    """Queue an apply; when the change needs an SRE (internet exposure), plan now and wait for approval."""
    if not is_active(service):
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
        scope, RunAction.APPLY, service_id=service.pk, user=user, plan=plan, force=force, approval_reasons=reasons
    )


def destroy_service(service, user=None) -> ProvisioningRun:
    """Delete everything the service owns, then its catalog row (kept, marked, if that fails). The catalog marks
    the row as being deleted when it hears of the request (``signals.run_requested``), in the same commit."""
    routes_here = routed_from(service)
    if routes_here:
        raise PermanentError(f"{', '.join(routes_here)} route requests to {service.name}; remove those routes first")
    with transaction.atomic():
        return request_run(service_key(service.name), RunAction.DESTROY, service_id=service.pk, user=user)


def apply_without_removed_routes(service, user=None) -> ProvisioningRun | None:
    """Queue an apply of ``service`` whose routes to a deleted service were just removed, when that is all that
    changed since its last successful apply; otherwise (other edits its team has not applied, a run under way, never
    applied) None: its team's next apply carries the removal, and nobody applies another team's edits for it."""
    scope = service_key(service.name)
    last = last_applied_snapshot(scope)
    if last is None or active_run(scope) is not None:
        return None

    def without_routes(snapshot: dict) -> dict:
        exposure = {**snapshot.get("exposure", {}), "routes": None}
        return {**snapshot, "exposure": exposure, "revision": None, "oncall": None}

    if without_routes(last) != without_routes(stored_snapshot(load_service(service.name))):
        return None
    return apply_service(service, user)


def drift_check_service(service, user=None) -> ProvisioningRun:
    """Queue a comparison of what was applied with what exists; nothing is changed."""
    return request_run(service_key(service.name), RunAction.DRIFT_CHECK, service_id=service.pk, user=user)


SELF_APPROVAL = "self_approval"


def applied_revision(service_id: int) -> int:
    """The catalog revision of the service's last successful apply (0: never applied)."""
    run = (
        ProvisioningRun.objects.filter(service_id=service_id, action=RunAction.APPLY, status=RunStatus.SUCCEEDED)
        .exclude(plan=None)
        .select_related("plan")
        .order_by("-finished_at", "-pk")
        .first()
    )
    return int(run.plan.snapshot.get("revision") or 0) if run else 0


def approve_run(run: ProvisioningRun, user) -> ProvisioningRun:
    """An SRE lets a waiting run go ahead; the worker plans again and applies if nothing changed.

    Four eyes: neither the requester nor anyone who changed the service since its last apply (whose change this
    run would carry out, an edit made while the run waited included) may approve it."""
    if run.requested_by_id is not None and run.requested_by_id == user.pk:
        raise PermanentError("the requester cannot approve their own change; ask another SRE", code=SELF_APPROVAL)
    if run.service_id is not None:
        since = applied_revision(run.service_id)
        if user.pk in service_editor_ids(run.service_id, since):
            raise PermanentError(
                f"you changed {run.service.name} since its last apply (revision {since}), so this run would apply "
                "your own change; ask another SRE to approve it",
                code=SELF_APPROVAL,
            )
    with transaction.atomic():
        updated = ProvisioningRun.objects.filter(pk=run.pk, status=RunStatus.AWAITING_APPROVAL).update(
            status=RunStatus.QUEUED, approved_by=user, approved_at=timezone.now()
        )
        if not updated:
            raise PermanentError(f"run #{run.pk} is not awaiting approval (it is {run.status})")
        run.refresh_from_db()
        log(run, "provisioning.run.approved", f"approved by {user.username}", user=user.username)
        run_approved.send(ProvisioningRun, run=run, actor=user)
        transaction.on_commit(lambda: enqueue(run.pk))
    return run


def reject_run(run: ProvisioningRun, user, reason: str) -> ProvisioningRun:
    """An SRE turns a waiting run down, saying why (the requester reads it)."""
    if not reason.strip():
        raise PermanentError("a rejection needs a reason the requester can read")
    updated = ProvisioningRun.objects.filter(pk=run.pk, status=RunStatus.AWAITING_APPROVAL).update(
        status=RunStatus.CANCELLED, rejection_reason=reason, error=f"rejected: {reason}", finished_at=timezone.now()
    )
    if not updated:
        raise PermanentError(f"run #{run.pk} is not awaiting approval (it is {run.status})")
    run.refresh_from_db()
    log(run, "provisioning.run.rejected", reason, user=user.username)
    run_rejected.send(ProvisioningRun, run=run, actor=user, reason=reason)
    return run


def cancel_run(run: ProvisioningRun, user=None, reason: str = "") -> None:
    """Stop an unfinished run; a step already under way finishes first."""
    if run.status not in ACTIVE_STATUSES:
        raise PermanentError(f"run #{run.pk} has already finished ({run.status})")
    ProvisioningRun.objects.filter(pk=run.pk).update(
        status=RunStatus.CANCELLED, finished_at=timezone.now(), error=reason or "cancelled"
    )
    run.refresh_from_db()
    log(run, "provisioning.run.cancelled", reason, user=getattr(user, "username", None))
    run_cancelled.send(ProvisioningRun, run=run, actor=user, reason=reason)


# --- the platform layer -------------------------------------------------------------------------------


def plan_platform(user=None, engine: Engine | None = None) -> Plan:
    """Compute and store a plan of the platform layer now; nothing is changed."""
    engine = engine or Engine()
    plan, _ = engine.plan(platform_scope(engine.platform), action=RunAction.APPLY, user=user)
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


def refresh_platform_alerting() -> ProvisioningRun:
    """At a hand-over of the SRE team's on-call roles: queue an apply of the platform layer, planned by the worker,
    so the cluster's alerts and the platform's alarms name the new pair. Changes of only those need no second SRE
    (``Engine.store_plan``); a plan holding more waits for one, as a platform apply always does."""
    current = active_run(PLATFORM_KEY)
    if current is not None:
        raise RunInProgress(current)
    return request_run(PLATFORM_KEY, RunAction.APPLY)


def drift_check_platform(user=None) -> ProvisioningRun:
    """Compare the platform's recorded Kubernetes objects and AWS pieces with what exists now."""
    return request_run(PLATFORM_KEY, RunAction.DRIFT_CHECK, user=user)


def bootstrap_platform(sandbox: bool | None = None, wait_seconds: float | None = None) -> list[ProvisioningRun]:
    """Plan and apply the platform scope in this process, approved by the operator running it, until converged;
    a failed run is recorded and its error raised."""
    return bootstrap.bootstrap_platform(sandbox=sandbox, wait_seconds=wait_seconds)


def prepare_sandbox() -> SandboxNetwork:
    """In the local AWS sandbox only: the VPC, subnets, nodes' security group and EKS cluster real AWS would
    already have (found, or created). The caller enters their ids into the platform settings."""
    backend = AwsBackend(platform_snapshot())
    with counting(backend.calls), aws_errors("preparing the sandbox"):
        return sandbox_network(backend.ctx)
