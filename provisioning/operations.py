"""What people and automation ask of the engine: plan, apply, destroy, drift check, approve."""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.catalog.choices import ServiceState
from portal.catalog.models import Service

from .apply.aws.sandbox import SandboxNetwork, sandbox_network
from .approvals import approval_reasons
from .aws.clients import counting
from .aws.errors import aws_errors
from .choices import RunAction, RunStatus
from .errors import PermanentError, ProvisioningError
from .models import ManagedResource, Plan, ProvisioningRun
from .reconcile import Engine, execute, last_applied_snapshot, platform_state, service_state, stored_snapshot
from .resources import AWS, KUBERNETES
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
from .snapshot import load_service, platform_snapshot
from .targets import AwsBackend, kubernetes_backend

# An apply of the platform can change what the platform renders: the TargetGroupBinding names its target group
# by the ARN the first apply recorded. One more pass applies that; then the platform is converged.
BOOTSTRAP_PASSES = 2


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
    (by team, so a batch shares its team's reads) that read ahead once for all their services; and one of the
    platform scope once it has been applied."""
    batch_size = batch_size or settings.PORTAL_DRIFT_BATCH_SIZE
    services = list(Service.objects.filter(state=ServiceState.ACTIVE).order_by("team__slug", "name").only("pk", "name"))
    count = 0
    if ManagedResource.objects.filter(scope=PLATFORM_KEY).exists():
        try:
            request_run(PLATFORM_KEY, RunAction.DRIFT_CHECK)
            count += 1
        except RunInProgress:
            pass
    for start in range(0, len(services), batch_size):
        batch = []
        with transaction.atomic():  # a batch's runs in one commit
            for service in services[start : start + batch_size]:
                try:
                    run = request_run(service_key(service.name), RunAction.DRIFT_CHECK, service=service, send=False)
                except RunInProgress:
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


def drift_check_platform(user=None) -> ProvisioningRun:
    """Compare the platform's recorded Kubernetes objects and AWS pieces with what exists now."""
    return request_run(PLATFORM_KEY, RunAction.DRIFT_CHECK, user=user)


def _bootstrap_engine(sandbox: bool | None = None, wait_seconds: float | None = None) -> Engine:
    """An engine for a bootstrap: ``wait_seconds`` lets a one-off command wait longer for ACM than a run's step;
    ``sandbox`` overrides whether zones may be created (by default: when AWS is the local sandbox)."""
    platform = platform_snapshot()
    backends = {
        KUBERNETES: kubernetes_backend(platform.kubernetes_target),
        AWS: AwsBackend(platform, sandbox=sandbox, wait_seconds=wait_seconds),
    }
    return Engine(platform, backends)


def bootstrap_platform(sandbox: bool | None = None, wait_seconds: float | None = None) -> list[ProvisioningRun]:
    """Plan and apply the platform scope in this process (its Kubernetes objects and its shared AWS pieces),
    approved by the operator running it, until it is converged (at most ``BOOTSTRAP_PASSES`` runs).

    A failed run is recorded as failed and its error raised: the caller decides whether to try again.
    """
    runs: list[ProvisioningRun] = []
    for _ in range(BOOTSTRAP_PASSES):
        engine = _bootstrap_engine(sandbox, wait_seconds)
        run = _apply_platform_now(engine)
        runs.append(run)
        after = platform_state(platform_snapshot())
        if run.plan is None or run.plan.fingerprint == after.fingerprint:
            break
    return runs


def _apply_platform_now(engine: Engine) -> ProvisioningRun:
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
        raise
    return ProvisioningRun.objects.select_related("plan").get(pk=run.pk)


def prepare_sandbox() -> SandboxNetwork:
    """In the local AWS sandbox only: the VPC, subnets, nodes' security group and EKS cluster real AWS would
    already have (found, or created). The caller enters their ids into the platform settings."""
    backend = AwsBackend(platform_snapshot())
    with counting(backend.calls), aws_errors("preparing the sandbox"):
        return sandbox_network(backend.ctx)
