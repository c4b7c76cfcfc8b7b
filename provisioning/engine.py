"""Plan and apply one scope: render -> observe -> diff -> apply -> record.

A scope is a service (or the platform layer) with its desired resources; the engine reads what exists through
the backends, diffs it against the desired state (or, for drift, against what was last applied), and applies
the changes step by step into the run's steps and the inventory. Which run, and when, is ``provisioning.runs``'s
business.
"""

import dataclasses
import hashlib
import logging
from dataclasses import dataclass, replace
from typing import Any

from django.db import transaction
from django.utils import timezone

from .analysis import scope_findings
from .analyze import ERROR
from .approvals import approval_reasons
from .choices import ChangeAction, ResourceStatus, RunAction, RunStatus, StepStatus
from .desired import SERVICE_KINDS, render_service
from .desired.platform import PLATFORM_KINDS, is_alerting, render_platform
from .diff import Change, plan_changes, summarize
from .errors import PermanentError, ProvisioningError
from .journal import check_cancel, heartbeat, log
from .models import ManagedResource, Plan, ProvisioningRun, RunStep
from .names import LABEL_MANAGED_BY, LABEL_OWNER, LABEL_SERVICE, MANAGED_BY, OWNER_PLATFORM
from .resources import AWS, KUBERNETES, Resource, seal
from .scopes import PLATFORM_KEY, is_service_key, service_key, service_of, team_key
from .snapshot import (
    load_service,
    platform_snapshot,
    service_id,
    team_keeps_shared_resources,
    with_outputs,
)
from .spec import PLATFORM_SECRET_FIELDS, SECRET_FIELDS, PlatformSpec, ServiceSpec, jsonable
from .targets import AwsBackend, Backend, kubernetes_backend

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
    # Providers that can hold resources of this scope.
    providers: tuple[str, ...] = (KUBERNETES, AWS)

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for resource in self.desired:
            digest.update(f"{resource.key}={resource.digest}\n".encode())
        return digest.hexdigest()


def service_scope(
    name: str,
    platform: PlatformSpec,
    *,
    destroy: bool = False,
    loaded: tuple[int, ServiceSpec] | None = None,
    last_applied: dict | None = None,
) -> Scope:
    """The scope of one service; when destroying, nothing is desired. ``loaded``: its (pk, snapshot) when read
    already (the drift sweep reads a batch's services at once, ``snapshot.load_services``). ``last_applied``: the
    catalog input of its last successful apply, given by an apply and its plan: a service that moved to another
    team since then also prunes the shared resources of the team it left, when it was that team's last; a drift
    check compares the service's own resources only."""
    pk, svc = loaded or (None, load_service(name))
    if destroy:
        extra_scopes = _team_key_if_last(svc.team.slug, name)
    else:
        extra_scopes = _left_team_key(svc.team.slug, name, last_applied)
    return Scope(
        key=service_key(name),
        labels={LABEL_MANAGED_BY: MANAGED_BY, LABEL_SERVICE: name},
        kinds=SERVICE_KINDS,
        desired=[] if destroy else render_service(svc, platform),
        snapshot=stored_snapshot(svc),
        revision=svc.revision,
        service_id=pk or service_id(name),
        extra_scopes=extra_scopes,
    )


def platform_scope(platform: PlatformSpec) -> Scope:
    """The shared platform layer: gateways, mesh, logging, tracing and monitoring configuration, and the shared
    AWS pieces (zones, ALBs with their groups and listeners, WAF, the EKS control-plane logs)."""
    return Scope(
        key=PLATFORM_KEY,
        labels={LABEL_MANAGED_BY: MANAGED_BY, LABEL_OWNER: OWNER_PLATFORM},
        kinds=PLATFORM_KINDS,
        desired=render_platform(platform),
        snapshot=stored_snapshot(platform),
    )


def _team_key_if_last(team: str, name: str) -> tuple[str, ...]:
    """Destroying the team's last active service prunes the team's shared resources (its SNS topic) too."""
    return () if team_keeps_shared_resources(team, name) else (team_key(team),)


def _left_team_key(team: str, name: str, last_applied: dict | None) -> tuple[str, ...]:
    """The team the service was in at its last successful apply, when that is not ``team`` and it has no other
    active service: the run prunes its shared resources (its SNS topic), as destroying its last service would."""
    before = ((last_applied or {}).get("team") or {}).get("slug")
    return _team_key_if_last(before, name) if before and before != team else ()


def stored_snapshot(spec: ServiceSpec | PlatformSpec) -> dict[str, Any]:
    """The catalog input as kept with a plan: plain JSON, without secret values."""
    secret = PLATFORM_SECRET_FIELDS if isinstance(spec, PlatformSpec) else SECRET_FIELDS
    return jsonable({f.name: getattr(spec, f.name) for f in dataclasses.fields(spec) if f.name not in secret})


def run_scope(run: ProvisioningRun, platform: PlatformSpec) -> Scope:
    """The scope a run works on: the platform layer, or its service (with nothing desired when destroying)."""
    if run.scope == PLATFORM_KEY:
        return platform_scope(platform)
    last_applied = last_applied_snapshot(run.scope) if run.action == RunAction.APPLY else None
    return service_scope(
        service_of(run.scope), platform, destroy=run.action == RunAction.DESTROY, last_applied=last_applied
    )


def record_to_resource(record: ManagedResource) -> Resource:
    """An inventory row as the resource that was last applied."""
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


def _identity(scope: Scope, resource: Resource) -> dict[str, Any]:
    """The inventory columns naming a resource and the scope that owns it (a team's for a team's resource)."""
    return {
        "scope": resource.owner or scope.key,
        "service_id": None if resource.owner else scope.service_id,
        "provider": resource.provider,
        "api_version": resource.api_version,
        "kind": resource.kind,
        "namespace": resource.namespace,
        "name": resource.name,
    }


def _needs_an_sre(change: Change) -> bool:
    """Whether a change of the platform layer waits for a second SRE: any but creating or updating what only
    watches (its monitors, alert rules, their routing and alarms; an SRE on-call hand-over changes those)."""
    if change.action == ChangeAction.UNCHANGED:
        return False
    return change.action == ChangeAction.DELETE or not is_alerting(change.resource)


def ordered(changes: list[Change]) -> list[Change]:
    """The order of work: creates and updates in render order, then deletes (namespaces last)."""
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

    def changes(self, scope: Scope) -> list[Change]:
        """The rendered desired state against what exists: what an apply would change."""
        records = self._records(scope)
        unknown = {r.provider for r in scope.desired} - set(self.backends)
        if unknown:
            raise PermanentError(f"no backend configured for {', '.join(sorted(unknown))} resources")
        changes: dict[str, list[Change]] = {}
        # AWS first: the platform's Kubernetes objects are rendered from what its AWS pieces report.
        for provider, backend in sorted(self._backends_for(scope), key=lambda pair: pair[0] != AWS):
            if provider != AWS and scope.key == PLATFORM_KEY and AWS in self.backends:
                self._render_with_observed_outputs(scope)
            desired = [r for r in scope.desired if r.provider == provider]
            recorded = [r for r in records if r.provider == provider]
            # Nothing recorded of a scope applied before: the inventory lost track of it (a restored database), so
            # what exists is looked for in every kind and adopted, rather than planned as new.
            lost = provider == KUBERNETES and not recorded and desired and applied_before(scope.key)
            observed, existing = backend.observe(scope.kinds, scope.labels, desired, recorded, every_kind=bool(lost))
            # What was last applied: a field it declared that the desired state dropped is a removal to apply.
            applied = {r.key: r.body for r in recorded}
            changes[provider] = plan_changes(desired, observed, existing, applied)
        return [change for provider in (KUBERNETES, AWS) for change in changes.get(provider, [])]

    def _render_with_observed_outputs(self, scope: Scope) -> None:
        """Render the platform again when its AWS pieces were just found with outputs the inventory lacks (it lost
        track of them, or predates their recording): the TargetGroupBinding names its target group by ARN, and
        without it the plan would delete the binding and an apply would cut the ALB off from the nodes."""
        found = self.backends[AWS].observed_outputs()
        observed = {(r.kind, r.name): found[r.key] for r in scope.desired if r.provider == AWS and r.key in found}
        platform = with_outputs(self.platform, observed)
        if platform != self.platform:
            fresh = platform_scope(platform)
            scope.desired, scope.snapshot = fresh.desired, fresh.snapshot

    def drift(self, scope: Scope) -> list[Change]:
        """What was last applied (the inventory) against what exists: edits made behind the portal's back,
        deleted resources, and owned resources nobody recorded. Catalog edits not yet applied are not drift."""
        records = self._records(scope)
        changes: list[Change] = []
        for provider, backend in self._backends_for(scope):
            recorded = [r for r in records if r.provider == provider]
            observed, existing = backend.observe(scope.kinds, scope.labels, recorded, recorded, every_kind=True)
            sealed = {r.key: r for r in recorded if r.sensitive}
            for key, body in observed.items():
                if key in sealed and body is not None:
                    observed[key] = seal(replace(sealed[key], body=body)).body
            changes.extend(plan_changes(recorded, observed, existing))
        return changes

    def plan(self, scope: Scope, *, action: str, user=None, last_applied: dict | None = None) -> tuple[Plan, list]:
        """Observe and diff, and check the desired state's wiring; store the plan. Nothing is changed."""
        changes = self.drift(scope) if action == RunAction.DRIFT_CHECK else self.changes(scope)
        return self.store_plan(scope, changes, action=action, user=user, last_applied=last_applied), changes

    def store_plan(
        self, scope: Scope, changes: list[Change], *, action: str, user=None, last_applied: dict | None = None
    ) -> Plan:
        """Store what ``changes`` would do as a plan of ``scope``, with the approvals it needs."""
        findings = scope_findings(scope.key, scope.desired, self.platform) if action == RunAction.APPLY else []
        reasons = []
        if action == RunAction.APPLY:
            reasons = approval_reasons(scope.snapshot, last_applied) if scope.key != PLATFORM_KEY else []
            if scope.key == PLATFORM_KEY and any(_needs_an_sre(c) for c in changes):
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
            findings=[f.as_dict() for f in findings],
            created_by=user if getattr(user, "pk", None) else None,
        )
        return plan

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

    def check_wiring(self, run: ProvisioningRun, scope: Scope) -> None:
        """Before any write: the wiring checks (``analyze``) find no error in the scope's desired state, analyzed
        with the platform layer and the services it routes to and from. Warnings are logged and let it go on."""
        findings = scope_findings(scope.key, scope.desired, self.platform)
        errors = [f for f in findings if f.severity == ERROR]
        warnings = [f for f in findings if f.severity != ERROR]
        if warnings:
            log(
                run,
                "provisioning.analysis.warnings",
                "\n".join(f"{f.code} {f.object} {f.path}: {f.message}" for f in warnings),
                level="warning",
                codes=sorted({f.code for f in warnings}),
            )
        if errors:
            raise PermanentError(
                "analysis: the desired state is not wired together:\n"
                + "\n".join(f"{f.code} {f.object} {f.path}: {f.message}" for f in errors),
                code="AnalysisFailed",
            )

    def apply(self, run: ProvisioningRun, scope: Scope, changes: list[Change]) -> None:
        """Apply the changes resource by resource, recording each step; raise on the first failure."""
        work = ordered(changes)
        self.preflight(run, [c.resource for c in work if c.action != ChangeAction.DELETE])
        if run.action == RunAction.APPLY:
            self.check_wiring(run, scope)
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
        outputs = (result or {}).get("outputs") or self.backends[resource.provider].outputs(resource)
        ManagedResource.objects.update_or_create(
            key=resource.key,
            defaults={
                **_identity(scope, resource),
                "external_id": external_id or "",
                "outputs": outputs,
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
        """Unchanged resources are converged: make sure the inventory knows them (and their outputs, which a
        resource found again after the inventory lost it needs) and shows no drift."""
        keys = [c.resource.key for c in unchanged]
        known = dict(ManagedResource.objects.filter(key__in=keys).values_list("key", "outputs"))
        for change in unchanged:
            resource = change.resource
            if resource.key not in known:
                self._record(run, scope, resource, None)
                continue
            outputs = self.backends[resource.provider].outputs(resource)
            if outputs and outputs != known[resource.key]:
                ManagedResource.objects.filter(key=resource.key).update(outputs=outputs)
        ManagedResource.objects.filter(key__in=keys).exclude(status=ResourceStatus.APPLIED).update(
            status=ResourceStatus.APPLIED, drift=[]
        )

    def _record_found(self, run, scope: Scope, resource: Resource) -> None:
        """An owned resource nothing recorded, as the drift check found it: drifted, to be pruned."""
        ManagedResource.objects.update_or_create(
            key=resource.key,
            defaults={
                **_identity(scope, resource),
                "applied_digest": "",
                "applied_body": seal(resource).body,
                "sensitive": resource.sensitive,
                "status": ResourceStatus.DRIFTED,
                "last_run": run,
            },
        )

    # --- drift --------------------------------------------------------------------------------

    @transaction.atomic
    def record_drift(self, run: ProvisioningRun, scope: Scope, changes: list[Change]) -> bool:
        """Mark inventory rows whose actual state left the desired one; True when anything drifted. A resource of the
        scope that nothing recorded (a write whose record was lost, or one made by hand with the scope's labels or
        tags) is recorded as drifted, with its body as found, so the next apply prunes it."""
        now = timezone.now()
        drifted = False
        unchanged = [c.resource.key for c in changes if c.action == ChangeAction.UNCHANGED]
        ManagedResource.objects.filter(key__in=unchanged).update(
            status=ResourceStatus.APPLIED, drift=[], last_checked_at=now
        )
        deleted = [c.resource for c in changes if c.action == ChangeAction.DELETE]
        known = set(ManagedResource.objects.filter(key__in=[r.key for r in deleted]).values_list("key", flat=True))
        for resource in (r for r in deleted if r.key not in known):
            self._record_found(run, scope, resource)
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


def applied_before(scope_key: str) -> bool:
    """Whether an apply of this scope has succeeded."""
    return ProvisioningRun.objects.filter(scope=scope_key, action=RunAction.APPLY, status=RunStatus.SUCCEEDED).exists()


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
