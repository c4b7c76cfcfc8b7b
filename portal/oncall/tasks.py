"""Handoffs: the rendered alert routing names who is on call, so it is re-applied when that changes."""

import logging
from datetime import datetime

from celery import shared_task
from django.utils import timezone

from portal.catalog.choices import ServiceState
from portal.catalog.models import PlatformSettings, Service
from portal.notify.events import on_call_handed_over
from provisioning.choices import WORKING_STATUSES, RunStatus
from provisioning.errors import RunInProgress
from provisioning.operations import apply_service, refresh_platform_alerting

from .current import OnCallNow, pair_at, schedule_queryset, to_schedule
from .models import Schedule

logger = logging.getLogger("portal.oncall")


def refresh_routing_at(at: datetime) -> dict[str, int]:
    """Request an apply of every active service of each team whose pair on call at ``at`` differs from the
    pair last rendered, then record the new pair. Returns the applies requested and the teams that failed: one
    team's error is logged and leaves its pair unrecorded (so the next beat tries again); the others go on."""
    outcome = {"requested": 0, "failed": 0}
    for row in schedule_queryset():
        try:
            outcome["requested"] += _refresh_team(row, at)
        except Exception:
            outcome["failed"] += 1
            logger.exception("oncall.routing.failed", extra={"team": row.team.slug})
    return outcome


def _refresh_team(row: Schedule, at: datetime) -> int:
    pair = pair_at(to_schedule(row), at)
    before = (row.routed_incident_commander, row.routed_resolver)
    if (pair.incident_commander, pair.resolver) == before:
        return 0
    requested = 0
    busy: list[str] = []
    for service in Service.objects.filter(team_id=row.team_id, state=ServiceState.ACTIVE).order_by("name"):
        try:
            apply_service(service)
            requested += 1
        except RunInProgress as exc:
            busy += _in_progress(exc, row, service.name, pair, "oncall")
    if PlatformSettings.load().sre_team == row.team.slug:
        # The team runs the platform: the cluster's alerts and the platform's alarms name its pair too.
        try:
            refresh_platform_alerting()
            requested += 1
        except RunInProgress as exc:
            busy += _in_progress(exc, row, "platform", pair, "sre_oncall")
    if busy:
        # A run that is planning or applying built its desired state before the hand-over and writes the old
        # names: the pair stays unrecorded, so the next beat asks again once it is done (the services already
        # asked then plan no change). The hand-over is announced when it is recorded.
        logger.info("oncall.routing.retry", extra={"team": row.team.slug, "busy": busy})
        return requested
    # Recorded after the requests: a worker dying in between makes the next beat request them again,
    # and the per-service run lock turns duplicates into RunInProgress.
    Schedule.objects.filter(pk=row.pk).update(
        routed_incident_commander=pair.incident_commander, routed_resolver=pair.resolver, routed_at=at
    )
    logger.info(
        "oncall.routing.refreshed",
        extra={"team": row.team.slug, "incident_commander": pair.incident_commander, "resolver": pair.resolver},
    )
    on_call_handed_over(row.team, (pair.incident_commander, pair.resolver), before)
    return requested


def _in_progress(exc: RunInProgress, row: Schedule, scope: str, pair: OnCallNow, field: str) -> list[str]:
    """The scope when its run in progress may write another pair than ``pair``: one applying a plan whose
    snapshot (``field``) names someone else, or one planning (a worker holds it with the desired state it built
    when it started). A queued run or one waiting for approval builds it again when it goes on."""
    run = exc.run
    logger.info("oncall.routing.skipped", extra={"team": row.team.slug, "scope": scope, "run": run.pk})
    if run.status not in WORKING_STATUSES:
        return []
    if run.status == RunStatus.APPLYING and run.plan is not None:
        named = run.plan.snapshot.get(field) or {}
        if (named.get("incident_commander"), named.get("resolver")) == (pair.incident_commander, pair.resolver):
            return []
    return [scope]


@shared_task(name="oncall.refresh_routing", acks_late=True)
def refresh_routing() -> dict[str, int]:
    """Beat task (every five minutes): re-apply the services of teams whose on-call pair changed."""
    return refresh_routing_at(timezone.now())
