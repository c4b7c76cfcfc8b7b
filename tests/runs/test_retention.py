"""The run history stays bounded: clean drift checks past the retention period go (each scope's newest stays);
everything people read as history (applies, failures, checks that found drift) is kept."""

from datetime import timedelta

import pytest
from django.utils import timezone

from provisioning.choices import RunAction, RunStatus
from provisioning.models import Plan, ProvisioningRun, RunLogEntry
from provisioning.runs.tasks import compact_runs

pytestmark = pytest.mark.django_db


def finished(scope: str, action: str, days_ago: float, *, status=RunStatus.SUCCEEDED, drift=False, plan=None):
    run = ProvisioningRun.objects.create(scope=scope, action=action, status=status, drift_found=drift, plan=plan)
    at = timezone.now() - timedelta(days=days_ago)
    ProvisioningRun.objects.filter(pk=run.pk).update(finished_at=at, created_at=at)
    RunLogEntry.objects.create(run=run, event="provisioning.run.succeeded")
    return run


def test_old_clean_checks_go_and_each_scope_keeps_its_newest(settings):
    settings.PORTAL_RUN_RETENTION_DAYS = 7
    old = [finished("service:a", RunAction.DRIFT_CHECK, d) for d in (30, 20, 10)]
    recent = finished("service:a", RunAction.DRIFT_CHECK, 1)
    only = finished("service:b", RunAction.DRIFT_CHECK, 40)  # its newest check, however old
    plan = Plan.objects.create(scope="service:a", fingerprint="f")
    drifted = finished("service:a", RunAction.DRIFT_CHECK, 30, drift=True, plan=plan)
    failed = finished("service:a", RunAction.DRIFT_CHECK, 30, status=RunStatus.FAILED)
    applied = finished("service:a", RunAction.APPLY, 30)
    orphan = Plan.objects.create(scope="service:a", fingerprint="g")
    old_with_plan = finished("service:c", RunAction.DRIFT_CHECK, 30, plan=orphan)
    finished("service:c", RunAction.DRIFT_CHECK, 0.5)

    assert compact_runs.apply().get() == len(old) + 1

    left = set(ProvisioningRun.objects.values_list("pk", flat=True))
    assert not left & {r.pk for r in [*old, old_with_plan]}
    assert {recent.pk, only.pk, drifted.pk, failed.pk, applied.pk} <= left
    assert not RunLogEntry.objects.filter(run_id__in=[r.pk for r in old]).exists()
    assert Plan.objects.filter(pk=plan.pk).exists() and not Plan.objects.filter(pk=orphan.pk).exists()
    assert compact_runs.apply().get() == 0, "a second pass finds nothing"


def test_nothing_within_the_retention_period_goes(settings):
    settings.PORTAL_RUN_RETENTION_DAYS = 14
    runs = [finished("service:a", RunAction.DRIFT_CHECK, d) for d in (13, 12, 2)]
    assert compact_runs.apply().get() == 0
    assert ProvisioningRun.objects.count() == len(runs)


def test_the_task_is_on_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["compact-runs"]
    assert entry["task"] == compact_runs.name == "provisioning.compact_runs"
