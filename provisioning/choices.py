from django.db import models


class RunAction(models.TextChoices):
    APPLY = "apply", "Apply"
    DESTROY = "destroy", "Destroy"
    DRIFT_CHECK = "drift_check", "Drift check"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PLANNING = "planning", "Planning"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    APPLYING = "applying", "Applying"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.PLANNING, RunStatus.AWAITING_APPROVAL, RunStatus.APPLYING)
# Statuses in which a worker is (or should be) holding the run.
WORKING_STATUSES = (RunStatus.PLANNING, RunStatus.APPLYING)


class ChangeAction(models.TextChoices):
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"
    UNCHANGED = "unchanged", "Unchanged"


class StepStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class ResourceStatus(models.TextChoices):
    APPLIED = "applied", "Applied"
    DRIFTED = "drifted", "Drifted"
    MISSING = "missing", "Missing"
    FAILED = "failed", "Failed"
