"""Plans, runs and the inventory of everything the portal manages."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from .choices import (
    ACTIVE_STATUSES,
    ChangeAction,
    ResourceStatus,
    RunAction,
    RunStatus,
    StepStatus,
)


class Plan(models.Model):
    """What a run would change, computed from the desired and the observed state; stored and shown."""

    scope = models.CharField(max_length=80, db_index=True)
    service = models.ForeignKey(
        "catalog.Service", null=True, blank=True, on_delete=models.SET_NULL, related_name="plans"
    )
    action = models.CharField(max_length=16, choices=RunAction.choices, default=RunAction.APPLY)
    catalog_revision = models.PositiveIntegerField(default=0)
    fingerprint = models.CharField(max_length=64, help_text="Digest of the desired state the plan was made from.")
    snapshot = models.JSONField(default=dict, help_text="The catalog input the plan was rendered from.")
    summary = models.JSONField(default=dict)
    changes = models.JSONField(default=list)
    requires_approval = models.BooleanField(default=False)
    approval_reasons = models.JSONField(default=list, blank=True)
    findings = models.JSONField(
        default=list,
        blank=True,
        help_text="The wiring checks' findings on the desired state (code, severity, object, path, message).",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"plan #{self.pk} for {self.scope}"

    @property
    def warnings(self) -> list[dict]:
        return [f for f in self.findings if f.get("severity") == "warning"]

    @property
    def errors(self) -> list[dict]:
        return [f for f in self.findings if f.get("severity") == "error"]

    @property
    def has_changes(self) -> bool:
        return any(self.summary.get(k) for k in (ChangeAction.CREATE, ChangeAction.UPDATE, ChangeAction.DELETE))


class ProvisioningRun(models.Model):
    """One apply, destroy or drift check of a service (or of the platform layer)."""

    scope = models.CharField(max_length=80, db_index=True)
    service = models.ForeignKey(
        "catalog.Service", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    action = models.CharField(max_length=16, choices=RunAction.choices)
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True)
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    force_conflicts = models.BooleanField(
        default=False, help_text="Take over fields another field manager owns (SRE only)."
    )
    celery_task_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    drift_found = models.BooleanField(default=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The lock: one unfinished run per service (or for the platform) at a time.
            models.UniqueConstraint(
                fields=["scope"], condition=Q(status__in=ACTIVE_STATUSES), name="run_one_active_per_scope"
            )
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"])]

    def __str__(self) -> str:
        return f"run #{self.pk} {self.action} {self.scope} ({self.status})"

    @property
    def routine(self) -> bool:
        """A drift check the sweep asked for (nobody did): its journal and audit trail keep only what is worth
        reading (drift, errors, retries), so an hourly sweep of every service adds one row per service."""
        return self.action == RunAction.DRIFT_CHECK and self.requested_by_id is None

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class RunStep(models.Model):
    """One resource's change inside a run, with its timing and error."""

    run = models.ForeignKey(ProvisioningRun, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    key = models.CharField(max_length=600)
    provider = models.CharField(max_length=16)
    kind = models.CharField(max_length=80)
    namespace = models.CharField(max_length=253, blank=True)
    name = models.CharField(max_length=253)
    action = models.CharField(max_length=16, choices=ChangeAction.choices)
    status = models.CharField(max_length=16, choices=StepStatus.choices, default=StepStatus.PENDING)
    error = models.TextField(blank=True)
    error_code = models.CharField(max_length=120, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "position"]
        constraints = [models.UniqueConstraint(fields=["run", "position"], name="runstep_unique_position")]

    def __str__(self) -> str:
        return f"{self.action} {self.kind} {self.name}: {self.status}"


class RunLogEntry(models.Model):
    """An event-style log line of a run, read later by people."""

    run = models.ForeignKey(ProvisioningRun, on_delete=models.CASCADE, related_name="log_entries")
    at = models.DateTimeField(auto_now_add=True)
    level = models.CharField(max_length=10, default="info")
    event = models.CharField(max_length=120)
    message = models.TextField(blank=True)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["run", "id"]

    def __str__(self) -> str:
        return f"{self.at:%H:%M:%S} {self.event} {self.message}"


class ManagedResource(models.Model):
    """Inventory: every resource the portal applied, its last applied digest and state."""

    scope = models.CharField(max_length=80, db_index=True)
    service = models.ForeignKey(
        "catalog.Service", null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_resources"
    )
    key = models.CharField(max_length=600, unique=True)
    provider = models.CharField(max_length=16)
    api_version = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=80)
    namespace = models.CharField(max_length=253, blank=True)
    name = models.CharField(max_length=253)
    external_id = models.CharField(max_length=2048, blank=True, help_text="ARN or id in the provider.")
    outputs = models.JSONField(
        default=dict,
        blank=True,
        help_text="What the provider assigned and others are built from (ids, ARNs, DNS names), as last applied or "
        "observed.",
    )
    applied_digest = models.CharField(max_length=64)
    applied_body = models.JSONField(default=dict, help_text="As applied; secret values only as digests.")
    sensitive = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=ResourceStatus.choices, default=ResourceStatus.APPLIED)
    drift = models.JSONField(default=list, blank=True)
    last_run = models.ForeignKey(ProvisioningRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_applied_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["scope", "provider", "kind", "namespace", "name"]

    def __str__(self) -> str:
        return self.key
