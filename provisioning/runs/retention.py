"""Keeping the run history bounded: clean drift checks older than ``PORTAL_RUN_RETENTION_DAYS`` are removed
(the newest of each scope stays, so every service still shows when it was last checked and that it was clean).

Applies, destroys, failed or cancelled runs and checks that found drift are history people read: they stay.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from ..choices import RunAction, RunStatus
from ..models import Plan, ProvisioningRun

logger = logging.getLogger("provisioning")

CHUNK = 2000


def compact_runs(now: datetime | None = None, days: int | None = None) -> int:
    """Delete the clean drift checks finished more than ``days`` ago, except each scope's newest; returns how
    many runs went (their log lines and steps with them, and plans no other run refers to)."""
    days = settings.PORTAL_RUN_RETENTION_DAYS if days is None else days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    clean = ProvisioningRun.objects.filter(
        action=RunAction.DRIFT_CHECK, status=RunStatus.SUCCEEDED, drift_found=False, finished_at__lt=cutoff
    )
    newest = ProvisioningRun.objects.filter(
        scope=OuterRef("scope"), action=RunAction.DRIFT_CHECK, status=RunStatus.SUCCEEDED
    ).order_by("-finished_at", "-pk")
    clean = clean.exclude(pk=Subquery(newest.values("pk")[:1]))
    deleted = 0
    while True:
        ids = list(clean.values_list("pk", flat=True)[:CHUNK])
        if not ids:
            break
        with transaction.atomic():
            plans = set(ProvisioningRun.objects.filter(pk__in=ids).exclude(plan=None).values_list("plan_id", flat=True))
            ProvisioningRun.objects.filter(pk__in=ids).delete()
            Plan.objects.filter(pk__in=plans, runs=None).delete()
        deleted += len(ids)
    if deleted:
        logger.info("provisioning.runs.compacted", extra={"runs": deleted, "days": days})
    return deleted
