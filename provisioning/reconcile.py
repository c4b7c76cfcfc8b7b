"""snapshot -> render -> observe -> diff -> apply -> record."""

import dataclasses
import hashlib
import logging
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .aws.backend import AwsBackend
from .choices import ChangeAction, ResourceStatus, RunAction, RunStatus, StepStatus
from .desired import SERVICE_KINDS, render_service
from .diff import Change, plan_changes, summarize
from .errors import PermanentError, ProvisioningError
from .models import ManagedResource, Plan, ProvisioningRun, RunStep
from .names import LABEL_MANAGED_BY, LABEL_OWNER, LABEL_SERVICE, MANAGED_BY, OWNER_PLATFORM
from .resources import AWS, KUBERNETES, Resource, seal
from .runs import check_cancel, finish, heartbeat, log, set_status
from .scopes import PLATFORM_KEY, is_service_key, service_key, service_of, team_key
from .snapshot import load_service, platform_snapshot
from .spec import SECRET_FIELDS, PlatformSpec, ServiceSpec, jsonable
from .targets import Backend, kubernetes_backend

logger = logging.getLogger("provisioning")


@dataclass
class Scope:
    """What one run reconciles: a service (or the platform layer) and its desired resources."""

    key: str
    labels: dict[str, str]
    kinds: list[tuple[str, str]]
    desired: list[Resource]
    snapshot: dict[str, Any]
    revision: int = 0
    service_id: int | None = None
    # Further inventory scopes this run may prune (a team's shared resources when its last service goes).
    extra_scopes: tuple[str, ...] = ()
    # Providers that can hold resources of this scope (the platform layer's AWS pieces belong to bootstrap).
    providers: tuple[str, ...] = (KUBERNETES, AWS)

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for resource in self.desired:
            digest.update(f"{resource.key}={resource.digest}\n".encode())
        return digest.hexdigest()


def service_state(
    name: str, platform: PlatformSpec, *, destroy: bool = False, loaded: tuple[int, ServiceSpec] | None = None
) -> Scope:
    """The scope of one service; when destroying, nothing is desired. ``loaded``: its (pk, snapshot) when read
    already (the drift sweep reads a batch's services at once, ``snapshot.load_services``)."""
    from portal.catalog.models import Service

    service_id, svc = loaded or (None, load_service(name))
    return Scope(
        key=service_key(name),
        labels={LABEL_MANAGED_BY: MANAGED_BY, LABEL_SERVICE: name},
        kinds=SERVICE_KINDS,
        desired=[] if destroy else render_service(svc, platform),
        snapshot=stored_snapshot(svc),
        revision=svc.revision,
        service_id=service_id or Service.objects.values_list("pk", flat=True).get(name=name),
        extra_scopes=_team_key_if_last(svc.team.slug, name) if destroy else (),
    )


def platform_state(platform: PlatformSpec) -> Scope:
    """The shared platform layer: gateways, mesh, logging, tracing and monitoring configuration."""
    from .desired.platform import PLATFORM_KINDS, render_platform

    return Scope(
        key=PLATFORM_KEY,
        labels={LABEL_MANAGED_BY: MANAGED_BY, LABEL_OWNER: OWNER_PLATFORM},
        kinds=PLATFORM_KINDS,
        desired=render_platform(platform),
        snapshot=jsonable(platform),
        providers=(KUBERNETES,),
    )


def _team_key_if_last(team: str, name: str) -> tuple[str, ...]:
    """Destroying the team's last active service prunes the team's shared resources (its SNS topic) too."""
    from portal.catalog.choices import ServiceState
    from portal.catalog.models import Service

    others = Service.objects.filter(team__slug=team, state=ServiceState.ACTIVE).exclude(name=name)
    return () if others.exists() else (team_key(team),)


def stored_snapshot(svc) -> dict[str, Any]:
    """The catalog input as kept with a plan: plain JSON, without secret values."""
    return jsonable({f.name: getattr(svc, f.name) for f in dataclasses.fields(svc) if f.name not in SECRET_FIELDS})


def record_to_resource(record: ManagedResource) -> Resource:
    return Resource(
        provider=record.provider,
        kind=record.kind,
        name=record.name,
        namespace=record.namespace,
        api_version=record.api_version,
        body=record.applied_body,
        sensitive=record.sensitive,
        owner=record.scope if not is_service_key(record.scope) else "",
    )


# Order of work: create and update in render order; delete in reverse (namespaces last).
def ordered(changes: list[Change]) -> list[Change]:
    writes = [c for c in changes if c.action in (ChangeAction.CREATE, ChangeAction.UPDATE)]
    deletes = [c for c in changes if c.action == ChangeAction.DELETE]
    deletes.sort(key=lambda c: (c.resource.provider == KUBERNETES, c.resource.kind == "Namespace"))
    return writes + deletes


class Engine:
    """Plans and applies one scope against the platform's backends."""

    def __init__(self, platform: PlatformSpec | None = None, backends: dict[str, Backend] | None = None):
        self.platform = platform or platform_snapshot()
        if backends is None:
            backends = {
                KUBERNETES: kubernetes_backend(self.platform.kubernetes_target),
                AWS: AwsBackend(self.platform),
            }
        self.backends = backends
        # Inventory rows read ahead for many scopes (the drift sweep's batch), by scope.
        self.recorded: dict[str, list[Resource]] = {}

    # --- plan ---------------------------------------------------------------------------------

    def _backends_for(self, scope: Scope):
        return [(p, b) for p, b in self.backends.items() if p in scope.providers]

    def _records(self, scope: Scope) -> list[Resource]:
        keys = [scope.key, *scope.extra_scopes]
        if all(key in self.recorded for key in keys):
            return [r for key in keys for r in self.recorded[key]]
        return [record_to_resource(r) for r in ManagedResource.objects.filter(scope__in=keys)]

    def observe(self, scope: Scope) -> list[Change]:
        """The rendered desired state against what exists: what an apply would change."""
        records = self._records(scope)
        unknown = {r.provider for r in scope.desired} - set(self.backends)
        if unknown:
            raise PermanentError(f"no backend configured for {', '.join(sorted(unknown))} resources")
        changes: list[Change] = []
        for provider, backend in self._backends_for(scope):
            desired = [r for r in scope.desired if r.provider == provider]
            recorded = [r for r in records if r.provider == provider]
            observed, existing = backend.observe(scope.kinds, scope.labels, desired, recorded)
            changes.extend(plan_changes(desired, observed, existing))
        return changes

    def drift(self, scope: Scope) -> list[Change]:
        """What was last applied (the inventory) against what exists: edits made behind the portal's back,
        deleted resources, and owned resources nobody recorded. Catalog edits not yet applied are not drift."""
        records = self._records(scope)
        changes: list[Change] = []
        for provider, backend in self._backends_for(scope):
            recorded = [r for r in records if r.provider == provider]
            observed, existing = backend.observe(scope.kinds, scope.labels, recorded, recorded)
            sealed = {r.key: r for r in recorded if r.sensitive}
            for key, body in observed.items():
                if key in sealed and body is not None:
                    observed[key] = seal(replace(sealed[key], body=body)).body
            changes.extend(plan_changes(recorded, observed, existing))
        return changes

    def plan(self, scope: Scope, *, action: str, user=None, last_applied: dict | None = None) -> tuple[Plan, list]:
        """Observe and diff; store the plan. Nothing is changed."""
        from .approvals import approval_reasons

        changes = self.drift(scope) if action == RunAction.DRIFT_CHECK else self.observe(scope)
        reasons = []
        if action == RunAction.APPLY:
            reasons = approval_reasons(scope.snapshot, last_applied) if scope.key != PLATFORM_KEY else []
            if scope.key == PLATFORM_KEY and any(c.action != ChangeAction.UNCHANGED for c in changes):
                reasons = ["changes the platform layer every service relies on"]
        plan = Plan.objects.create(
            scope=scope.key,
            service_id=scope.service_id,
            action=action if action != RunAction.DRIFT_CHECK else RunAction.APPLY,
            catalog_revision=scope.revision,
            fingerprint=scope.fingerprint,
            snapshot=scope.snapshot,
            summary=summarize(changes),
            changes=[c.as_dict() for c in changes],
            requires_approval=bool(reasons),
            approval_reasons=reasons,
            created_by=user if getattr(user, "pk", None) else None,
        )
        return plan, changes

    # --- apply --------------------------------------------------------------------------------

    def preflight(self, run: ProvisioningRun, resources: list[Resource]) -> None:
        """Before any write: every Kubernetes object must pass strict schema validation."""
        manifests = [r for r in resources if r.provider == KUBERNETES]
        if not manifests:
            return
        validator = self.backends[KUBERNETES].schema_validator()
        known = [r for r in manifests if validator.has_schema(r.api_version, r.kind)]
        unknown = sorted({f"{r.kind} ({r.api_version})" for r in manifests if r not in known})
        if unknown:
            log(
                run,
                "provisioning.preflight.unchecked",
                f"no schema to check {', '.join(unknown)}: install the CRDs or set PORTAL_CRD_DIR",
                level="warning",
            )
        violations = validator.validate_all([r.body for r in known])
        if violations:
            raise PermanentError(
                "preflight: the rendered objects do not validate:\n" + "\n".join(str(v) for v in violations),
                code="PreflightFailed",
            )

    def execute(self, run: ProvisioningRun, scope: Scope, changes: list[Change]) -> None:
        """Apply the changes resource by resource, recording each step; raise on the first failure."""
        work = ordered(changes)
        self.preflight(run, [c.resource for c in work if c.action != ChangeAction.DELETE])
        RunStep.objects.filter(run=run).delete()
        steps = RunStep.objects.bulk_create(
            RunStep(
                run=run,
                position=i,
                key=c.resource.key,
                provider=c.resource.provider,
                kind=c.resource.kind,
                namespace=c.resource.namespace,
                name=c.resource.name,
                action=c.action,
            )
            for i, c in enumerate(work)
        )
        self._record_unchanged(run, scope, [c for c in changes if c.action == ChangeAction.UNCHANGED])
        used = {c.resource.provider for c in work}
        for provider in used:
            self.backends[provider].begin()
        failure: ProvisioningError | None = None
        try:
            for step, change in zip(steps, work, strict=True):
                check_cancel(run)
                self._run_step(run, scope, step, change)
        except ProvisioningError as exc:
            failure = exc
            RunStep.objects.filter(run=run, status=StepStatus.PENDING).update(status=StepStatus.SKIPPED)
            raise
        finally:
            verb = "destroy" if run.action == RunAction.DESTROY else "apply"
            outcome = f" (failed: {failure})" if failure else ""
            for provider in used:
                ref = self.backends[provider].finish(f"portal run #{run.pk}: {verb} {scope.key}{outcome}")
                if ref:
                    log(run, "provisioning.commit", f"{provider}: committed {ref}", ref=ref)

    def _run_step(self, run: ProvisioningRun, scope: Scope, step: RunStep, change: Change) -> None:
        resource = change.resource
        backend = self.backends[resource.provider]
        step.status, step.started_at = StepStatus.RUNNING, timezone.now()
        step.save(update_fields=["status", "started_at"])
        heartbeat(run)
        try:
            if change.action == ChangeAction.DELETE:
                backend.delete(resource)
                ManagedResource.objects.filter(key=resource.key).delete()
            else:
                result = backend.apply(resource, force=run.force_conflicts)
                self._record(run, scope, resource, result)
        except ProvisioningError as exc:
            step.status, step.error, step.error_code = StepStatus.FAILED, str(exc), exc.code
            step.finished_at = timezone.now()
            step.save(update_fields=["status", "error", "error_code", "finished_at"])
            log(run, "provisioning.step.failed", str(exc), level="error", key=resource.key, code=exc.code)
            raise
        step.status, step.finished_at = StepStatus.SUCCEEDED, timezone.now()
        step.save(update_fields=["status", "finished_at"])
        log(run, "provisioning.step.succeeded", f"{change.action} {resource.label()}", key=resource.key)

    def _record(self, run, scope: Scope, resource: Resource, result: dict[str, Any] | None) -> None:
        external_id = (result or {}).get("external_id", "") if resource.provider != KUBERNETES else ""
        ManagedResource.objects.update_or_create(
            key=resource.key,
            defaults={
                "scope": resource.owner or scope.key,
                "service_id": None if resource.owner else scope.service_id,
                "provider": resource.provider,
                "api_version": resource.api_version,
                "kind": resource.kind,
                "namespace": resource.namespace,
                "name": resource.name,
                "external_id": external_id or "",
                "applied_digest": resource.digest,
                "applied_body": seal(resource).body,
                "sensitive": resource.sensitive,
                "status": ResourceStatus.APPLIED,
                "drift": [],
                "last_run": run,
                "last_applied_at": timezone.now(),
            },
        )

    def _record_unchanged(self, run, scope: Scope, unchanged: list[Change]) -> None:
        """Unchanged resources are converged: make sure the inventory knows them and shows no drift."""
        keys = [c.resource.key for c in unchanged]
        known = set(ManagedResource.objects.filter(key__in=keys).values_list("key", flat=True))
        for change in unchanged:
            if change.resource.key not in known:
                self._record(run, scope, change.resource, None)
        ManagedResource.objects.filter(key__in=keys).exclude(status=ResourceStatus.APPLIED).update(
            status=ResourceStatus.APPLIED, drift=[]
        )

    # --- drift --------------------------------------------------------------------------------

    @transaction.atomic
    def record_drift(self, run: ProvisioningRun, scope: Scope, changes: list[Change]) -> bool:
        """Mark inventory rows whose actual state left the desired one; True when anything drifted."""
        now = timezone.now()
        drifted = False
        unchanged = [c.resource.key for c in changes if c.action == ChangeAction.UNCHANGED]
        ManagedResource.objects.filter(key__in=unchanged).update(
            status=ResourceStatus.APPLIED, drift=[], last_checked_at=now
        )
        for change in changes:
            key = change.resource.key
            if change.action == ChangeAction.UNCHANGED:
                continue
            drifted = True
            status = {
                ChangeAction.CREATE: ResourceStatus.MISSING,
                ChangeAction.UPDATE: ResourceStatus.DRIFTED,
                ChangeAction.DELETE: ResourceStatus.DRIFTED,
            }[change.action]
            diff = change.as_dict()["diff"]  # secret values redacted
            ManagedResource.objects.filter(key=key).update(status=status, drift=diff, last_checked_at=now)
            log(
                run,
                "provisioning.drift.found",
                f"{change.resource.label()}: {change.action}"
                + "".join(f"\n  {d['path']}: {d['old']!r} -> {d['new']!r}" for d in diff[:20]),
                level="warning",
                key=key,
            )
        return drifted


# --- runs -------------------------------------------------------------------------------------


def last_applied_snapshot(scope_key: str) -> dict | None:
    """The catalog input of the last successful apply of this scope."""
    run = (
        ProvisioningRun.objects.filter(scope=scope_key, action=RunAction.APPLY, status=RunStatus.SUCCEEDED)
        .exclude(plan=None)
        .select_related("plan")
        .order_by("-finished_at", "-pk")
        .first()
    )
    return run.plan.snapshot if run else None


def scope_for(run: ProvisioningRun, platform: PlatformSpec) -> Scope:
    if run.scope == PLATFORM_KEY:
        return platform_state(platform)
    name = service_of(run.scope)
    return service_state(name, platform, destroy=run.action == RunAction.DESTROY)


def execute(run: ProvisioningRun, engine: Engine | None = None, scope: Scope | None = None) -> None:
    """Carry out one claimed run: plan, wait for approval when needed, apply and record (``scope``: already
    built for this run, as the drift sweep does for a batch)."""
    engine = engine or Engine()
    scope = scope or scope_for(run, engine.platform)
    if run.action == RunAction.DRIFT_CHECK:
        plan, changes = engine.plan(scope, action=run.action)
        ProvisioningRun.objects.filter(pk=run.pk).update(plan=plan)
        run.drift_found = engine.record_drift(run, scope, changes)
        ProvisioningRun.objects.filter(pk=run.pk).update(drift_found=run.drift_found)
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
    engine.execute(run, scope, changes)
    finish(run, RunStatus.SUCCEEDED, "")
    if run.action == RunAction.DESTROY and scope.service_id is not None:
        _forget_service(run, scope.service_id)


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
    window = settings.PORTAL_PLAN_REUSE_SECONDS
    if plan is None or window <= 0 or run.action != RunAction.APPLY or run.attempts > 1:
        return None
    if plan.scope != scope.key or plan.action != RunAction.APPLY or plan.fingerprint != scope.fingerprint:
        return None
    if (timezone.now() - plan.created_at).total_seconds() > window:
        return None
    if plan.requires_approval and run.approved_at is None:
        return None
    finished_since = ProvisioningRun.objects.filter(scope=scope.key, finished_at__gte=plan.created_at)
    if finished_since.exclude(pk=run.pk).exists():
        return None
    desired = {r.key: r for r in scope.desired}
    planned = {entry["key"]: entry for entry in plan.changes}
    if set(desired) - set(planned):
        return None
    doomed = [key for key, entry in planned.items() if entry["action"] == ChangeAction.DELETE]
    records = {r.key: r for r in ManagedResource.objects.filter(key__in=doomed)}
    changes: list[Change] = []
    for key, entry in planned.items():
        if entry["action"] == ChangeAction.DELETE:
            if key not in records or key in desired:
                return None  # found by labels or tags, not in the inventory: only a fresh observe knows it
            changes.append(Change(ChangeAction.DELETE, record_to_resource(records[key])))
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


def _forget_service(run: ProvisioningRun, service_id: int) -> None:
    """After a complete destroy, the catalog row goes (its runs and plans stay, by scope)."""
    from portal.catalog.models import Service

    with transaction.atomic():
        ManagedResource.objects.filter(service_id=service_id).delete()
        deleted, _ = Service.objects.filter(pk=service_id).delete()
    if deleted:
        log(run, "provisioning.service.deleted", f"{run.scope} and everything it owned are gone")
        from portal.audit.log import record

        record(
            "service.delete",
            "service",
            service_of(run.scope),
            actor=run.requested_by,
            detail=f"destroyed by run #{run.pk}",
            source="worker",
        )
