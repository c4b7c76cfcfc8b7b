"""What the portal tells a team's Slack channel, and when: each function takes the event's objects, picks the
channels (the scope's team; for approvals the SRE team too), builds the message and sends it to a worker once the
transaction commits. None of them ever raises: a notification that cannot be sent is logged, and the run or the
request that caused it goes on as if nothing happened."""

import functools
import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from portal.catalog.models import PlatformSettings, Service, Team
from provisioning.choices import ChangeAction, RunAction, RunStatus
from provisioning.models import ProvisioningRun
from provisioning.scopes import PLATFORM_KEY, TEAM_PREFIX, describe, service_of

from . import messages
from .tasks import post_to_slack

logger = logging.getLogger("portal.notify")


def _quietly(func: Callable) -> Callable:
    """Run ``func`` so that no error of it reaches the caller, nor spoils the caller's transaction (a savepoint)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs) -> None:
        try:
            with transaction.atomic():
                func(*args, **kwargs)
        except Exception:
            logger.warning("notify.failed", extra={"event": func.__name__}, exc_info=True)

    return wrapper


def absolute(path: str) -> str:
    """The portal's address of ``path`` (``PORTAL_PUBLIC_URL``): a message is read outside the portal."""
    return f"{settings.PORTAL_PUBLIC_URL.rstrip('/')}{path}"


def sre_team() -> Team | None:
    """The team that runs the platform (the platform setting ``sre_team``), if it names one."""
    slug = PlatformSettings.load().sre_team
    return Team.objects.filter(slug=slug).first() if slug else None


def scope_team(scope: str) -> Team | None:
    """The team a scope belongs to: a service's team, a team itself, or the SRE team for the platform layer."""
    if scope == PLATFORM_KEY:
        return sre_team()
    if scope.startswith(TEAM_PREFIX):
        return Team.objects.filter(slug=scope.removeprefix(TEAM_PREFIX)).first()
    service = Service.objects.filter(name=service_of(scope)).select_related("team").first()
    return service.team if service else None


def send(teams: Iterable[Team | None], message: dict) -> None:
    """Post ``message`` to each of ``teams`` that has a Slack webhook, once each, after the transaction commits."""
    ids = list(dict.fromkeys(team.pk for team in teams if team is not None and team.slack_webhook_url))
    for team_id in ids:
        transaction.on_commit(functools.partial(enqueue, team_id, message))


def enqueue(team_id: int, message: dict) -> None:
    """Send one message for one team to a worker now (``send`` calls it when the transaction commits)."""
    try:
        post_to_slack.apply_async(args=[team_id, message], retry=False)
    except Exception as exc:
        # The broker is away: this message is lost, and says so; nothing else depends on it.
        logger.warning("notify.slack.enqueue_failed", extra={"team_id": team_id, "error": str(exc)})


def _run_url(run: ProvisioningRun) -> str:
    return absolute(reverse("provisioning:run_detail", kwargs={"pk": run.pk}))


def _previous(run: ProvisioningRun, *, failed_checks: bool) -> ProvisioningRun | None:
    """The scope's last run before ``run`` that says what state the scope was in: a successful run (an apply, a
    drift check) or, with ``failed_checks``, a drift check that failed."""
    said = Q(status=RunStatus.SUCCEEDED)
    if failed_checks:
        said |= Q(action=RunAction.DRIFT_CHECK, status=RunStatus.FAILED)
    return (
        ProvisioningRun.objects.filter(said, scope=run.scope, finished_at__lte=run.finished_at)
        .exclude(pk=run.pk)
        .select_related("plan")
        .order_by("-finished_at", "-pk")
        .first()
    )


def _drifted(run: ProvisioningRun) -> dict[str, str]:
    """The resources a drift check found changed: key -> how people read it."""
    changes = run.plan.changes if run.plan is not None else []
    return {
        c["key"]: f"{c['kind']} {c['namespace'] + '/' if c.get('namespace') else ''}{c['name']}: {c['action']}"
        for c in changes
        if c["action"] != ChangeAction.UNCHANGED
    }


@_quietly
def run_failed(run: ProvisioningRun) -> None:
    """A run failed. The sweep's own checks tell only the first of a series of failures, not every hour's."""
    if run.routine:
        previous = _previous(run, failed_checks=True)
        if previous is not None and previous.routine and previous.status == RunStatus.FAILED:
            return
    message = messages.run_failed(
        describe(run.scope), run.get_action_display().lower(), run.pk, run.error, _run_url(run)
    )
    send([scope_team(run.scope)], message)


@_quietly
def approval_waiting(run: ProvisioningRun, reasons: list[str]) -> None:
    """A run waits for an SRE: its team's channel and the SRE team's channel hear of it (once, if they are one)."""
    requested_by = run.requested_by.username if run.requested_by_id else ""
    approvals = absolute(f"{reverse('provisioning:approvals')}#approval-{run.pk}")
    message = messages.approval_waiting(describe(run.scope), run.pk, reasons, requested_by, approvals, _run_url(run))
    send([scope_team(run.scope), sre_team()], message)


@_quietly
def drift_found(run: ProvisioningRun) -> None:
    """A drift check found drift. Told once: not again while later checks find the same resources drifted (no
    apply in between); a resource newly drifted is told again."""
    drifted = _drifted(run)
    previous = _previous(run, failed_checks=False)
    if (
        previous is not None
        and previous.action == RunAction.DRIFT_CHECK
        and previous.drift_found
        and set(drifted) <= set(_drifted(previous))
    ):
        return
    message = messages.drift_found(describe(run.scope), run.pk, sorted(drifted.values()), _run_url(run))
    send([scope_team(run.scope)], message)


@_quietly
def on_call_handed_over(team: Team, pair: tuple[str, str], before: tuple[str, str]) -> None:
    """The pair on call (incident commander, resolver) changed from ``before``: the team's channel hears who holds
    each role now, with their e-mail."""
    people = get_user_model().objects.filter(username__in=[*pair, *before]).values_list("username", "email")
    names = {username: f"{username} ({email})" if email else username for username, email in people}
    url = absolute(reverse("oncall:team", kwargs={"slug": team.slug}))
    send([team], messages.handed_over(team.name or team.slug, pair, before, names, url))
