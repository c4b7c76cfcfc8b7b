"""The production-readiness rules and the levels they make, as data.

Each rule has an id that never changes meaning, a one-line why, where it is fixed, when it applies and its check.
A check reads a service as ``portal.scorecards.cards`` loads it (the service row with its traffic and telemetry,
its latest run outcomes annotated by ``provisioning.queries.with_run_outcomes``) and the ``Context`` of facts
read once for all services (teams, on-call schedules, plans' findings, the platform's Slack webhook).
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.urls import reverse

from portal.catalog.choices import MtlsMode, Protocol
from portal.oncall.schedule import Role
from provisioning.choices import RunStatus

# The levels, lowest first; a service below bronze is at NONE.
NONE, BRONZE, SILVER, GOLD = "none", "bronze", "silver", "gold"
LEVELS = (BRONZE, SILVER, GOLD)
LEVEL_ORDER = (NONE, *LEVELS)

# A rule's outcome for one service.
PASS, FAIL, NOT_APPLICABLE = "pass", "fail", "n/a"
STATUSES = (PASS, FAIL, NOT_APPLICABLE)

MIN_TEAM_MEMBERS = 2
MIN_ROTATION_PEOPLE = 2
DRIFT_CHECK_MAX_AGE = timedelta(hours=24)
CRITICAL_TIERS = (1, 2)


@dataclass(frozen=True)
class TeamFacts:
    """What the rules read of a team: its size, its rotations' sizes, who is on call now, where its alerts go."""

    slug: str
    members: int = 0
    rotation_people: dict[str, int] = field(default_factory=dict)  # role -> people in its rotation
    incident_commander: str = ""  # on call now; empty: no one
    resolver: str = ""
    slack_channel: str = ""
    incident_source: bool = False  # the incident tool's Alertmanager source is set


@dataclass(frozen=True)
class Context:
    """The facts every card reads, loaded once for any number of services."""

    now: datetime
    teams: dict[int, TeamFacts]
    plans: dict[int, tuple[int, list[dict]]]  # plan id -> (catalog revision, findings)
    platform_slack: bool = False  # the platform's Slack webhook is set, so Slack receivers have a config


@dataclass(frozen=True)
class Result:
    passed: bool
    detail: str


@dataclass(frozen=True)
class Rule:
    """One production-readiness rule: ``check`` says whether a service meets it, where ``applies``."""

    id: str
    level: str
    title: str
    why: str
    fix: Callable[[str, str, str], str]  # (service name, team slug, script prefix) -> the page where it is fixed
    check: Callable[..., Result]  # (service, context) -> Result
    applies: Callable[..., bool] = lambda service: True
    applies_to: str = "every service"


# --- where things are fixed ----------------------------------------------------------------------------------


_ARGUMENT = "x0argument0x"  # a slug, so every pattern below accepts it


@functools.cache
def _pattern(viewname: str, prefix: str) -> str:
    """The path of ``viewname`` with a placeholder for its one argument: reversed once per script prefix, since
    thousands of cards name the same few pages."""
    return reverse(viewname, args=[_ARGUMENT])


def _path(viewname: str, argument: str, prefix: str) -> str:
    return _pattern(viewname, prefix).replace(_ARGUMENT, argument)


def _edit(step: str) -> Callable[[str, str, str], str]:
    return lambda name, team, prefix: f"{_path('catalog:service_edit', name, prefix)}?step={step}"


def _service_page(anchor: str) -> Callable[[str, str, str], str]:
    return lambda name, team, prefix: f"{_path('catalog:service_detail', name, prefix)}#{anchor}"


def _team_page(name: str, team: str, prefix: str) -> str:
    return f"{_path('catalog:team_detail', team, prefix)}#members-heading"


def _team_edit(name: str, team: str, prefix: str) -> str:
    return _path("catalog:team_edit", team, prefix)


def _oncall_page(name: str, team: str, prefix: str) -> str:
    return _path("oncall:team", team, prefix)


# --- when rules apply ----------------------------------------------------------------------------------------


def _critical(service) -> bool:
    return service.tier in CRITICAL_TIERS


def _in_mesh(service) -> bool:
    return service.mesh


def _measurable(service) -> bool:
    # The serializer refuses an SLO elsewhere: it is measured from the mesh's request metrics.
    return _critical(service) and service.mesh and service.protocol != Protocol.TCP


# --- the checks -------------------------------------------------------------------------------------------------


def _people(count: int) -> str:
    return f"{count} {'person' if count == 1 else 'people'}"


def check_team_members(service, context: Context) -> Result:
    members = context.teams[service.team_id].members
    return Result(members >= MIN_TEAM_MEMBERS, f"Team {service.team.slug} has {_people(members)}.")


def check_oncall_rotation(service, context: Context) -> Result:
    team = context.teams[service.team_id]
    counts = {role: team.rotation_people.get(role.value, 0) for role in Role}
    short = [f"the {role.label} rotation has {_people(n)}" for role, n in counts.items() if n < MIN_ROTATION_PEOPLE]
    if not team.rotation_people:
        return Result(False, f"Team {team.slug} has no on-call schedule.")
    if short:
        return Result(False, "; ".join(short).capitalize() + ".")
    sizes = ", ".join(f"{role.label} {n}" for role, n in counts.items())
    return Result(True, f"Rotations of team {team.slug}: {sizes}.")


def check_slo(service, context: Context) -> Result:
    slo = service.telemetry.slo
    if not slo:
        return Result(False, "No SLO is set.")
    latency = f", p99 under {slo['latency_p99_ms']} ms" if slo.get("latency_p99_ms") else ""
    return Result(True, f"{slo['availability']} % available{latency}.")


def check_dashboard(service, context: Context) -> Result:
    on = service.telemetry.dashboard
    return Result(on, "The Grafana dashboard is rendered." if on else "The dashboard is off.")


def check_tracing(service, context: Context) -> Result:
    percent = service.telemetry.tracing_sampling_percent
    return Result(percent > 0, f"{percent.normalize():f} % of requests are traced.")


def check_mtls(service, context: Context) -> Result:
    mode = service.traffic.mtls
    return Result(mode == MtlsMode.STRICT, f"mTLS is {mode}.")


def check_runbook(service, context: Context) -> Result:
    url = service.runbook_url
    return Result(bool(url), f"Runbook: {url}" if url else "No runbook URL is set.")


def check_apply(service, context: Context) -> Result:
    status = service.last_apply_status
    if status is None:
        return Result(False, "Never applied.")
    return Result(status == RunStatus.SUCCEEDED, f"The last apply, run #{service.last_apply_id}, {status}.")


def check_drift(service, context: Context) -> Result:
    status, at = service.last_drift_status, service.last_drift_at
    if status is None:
        return Result(False, "Never checked for drift.")
    run = f"run #{service.last_drift_id}"
    if status != RunStatus.SUCCEEDED:
        return Result(False, f"The last drift check, {run}, {status}.")
    if service.last_drift_found:
        return Result(False, f"The last drift check, {run}, found drift.")
    age = context.now - at
    hours = int(age.total_seconds() // 3600)
    if age > DRIFT_CHECK_MAX_AGE:
        return Result(False, f"The last drift check, {run}, was clean but {hours} hours ago.")
    return Result(True, f"The last drift check, {run}, found no drift ({hours} hours ago).")


def check_wiring(service, context: Context) -> Result:
    planned = context.plans.get(service.last_plan_id)
    if planned is None:
        return Result(False, "Never planned, so its wiring was never checked.")
    revision, findings = planned
    if revision != service.revision:
        return Result(
            False, f"Edited since its last plan (revision {revision}, now {service.revision}): plan it again."
        )
    errors = sorted({f["code"] for f in findings if f.get("severity") == "error"})
    if errors:
        return Result(False, f"The last plan has {len(errors)} kind(s) of wiring error: {', '.join(errors)}.")
    return Result(True, f"The last plan (revision {revision}) has no wiring error.")


def check_alerts(service, context: Context) -> Result:
    team = context.teams[service.team_id]
    receivers = []
    if team.incident_source:
        receivers.append("the incident tool (critical alerts)")
    if context.platform_slack and team.slack_channel:
        receivers.append(f"Slack {team.slack_channel}")
    if not receivers:
        missing = "the platform has no Slack webhook" if not context.platform_slack else "no Slack channel"
        return Result(
            False, f"Team {team.slug} has no incident-tool Alertmanager source and {missing}: alerts reach no one."
        )
    where = " and ".join(receivers)
    if not _critical(service):
        return Result(True, f"Alerts reach {where}.")
    absent = [role.label for role in Role if not getattr(team, role.value)]
    if absent:
        return Result(False, f"Alerts reach {where}, but no one is on call now as {' or '.join(absent)}.")
    pair = f"{team.incident_commander} (incident commander) and {team.resolver} (resolver)"
    return Result(True, f"Alerts reach {where}, naming {pair}.")


RULES: tuple[Rule, ...] = (
    Rule(
        id="team-members",
        level=BRONZE,
        title="Team of two or more",
        why="A team of one has no one to take over: the owning team needs at least two members.",
        fix=_team_page,
        check=check_team_members,
    ),
    Rule(
        id="runbook",
        level=BRONZE,
        title="Runbook",
        why="The on-call engineer opens the runbook from every alert (its Runbook link): the service needs a URL.",
        fix=_edit("basics"),
        check=check_runbook,
    ),
    Rule(
        id="apply-succeeded",
        level=BRONZE,
        title="Last apply succeeded",
        why="What runs is what the catalog says only when the latest finished apply succeeded.",
        fix=_service_page("runs-heading"),
        check=check_apply,
    ),
    Rule(
        id="alerts-reach-oncall",
        level=BRONZE,
        title="Alerts reach the on-call pair",
        why="Alerts are routed by team to its incident tool (Alertmanager source, critical alerts, the pair in "
        "their annotations) and to Slack (the platform's webhook into the team's channel, the pair named); tier 1–2 "
        "also need someone on call in both roles now, or the pair is 'no one scheduled'.",
        fix=_team_edit,
        check=check_alerts,
    ),
    Rule(
        id="dashboard",
        level=SILVER,
        title="Dashboard",
        why="Without the service's Grafana dashboard the on-call engineer has no picture of its traffic to start from.",
        fix=_edit("telemetry"),
        check=check_dashboard,
    ),
    Rule(
        id="tracing",
        level=SILVER,
        title="Traces sampled",
        why="With a sampling rate of 0 % the mesh sends no trace to X-Ray: a slow request cannot be followed.",
        fix=_edit("telemetry"),
        check=check_tracing,
        applies=_in_mesh,
        applies_to="services in the mesh (the sidecar samples traces)",
    ),
    Rule(
        id="oncall-rotation",
        level=SILVER,
        title="On-call rotation of two per role",
        why="Each on-call role (incident commander, resolver) needs two people at least, so nobody is on call for "
        "ever and a shift can be swapped.",
        fix=_oncall_page,
        check=check_oncall_rotation,
        applies=_critical,
        applies_to="tier 1–2 services",
    ),
    Rule(
        id="wiring-clean",
        level=SILVER,
        title="Wiring checks clean",
        why="The wiring checks (analyze: PA001...) of its latest plan, made from its current revision, found no "
        "error; an error blocks the apply.",
        fix=_service_page("analysis-heading"),
        check=check_wiring,
    ),
    Rule(
        id="slo",
        level=GOLD,
        title="SLO",
        why="An SLO gives the burn-rate alerts that page before the error budget is gone.",
        fix=_edit("telemetry"),
        check=check_slo,
        applies=_measurable,
        applies_to="tier 1–2 HTTP and gRPC services in the mesh (an SLO is measured from the mesh's metrics)",
    ),
    Rule(
        id="mtls-strict",
        level=GOLD,
        title="mTLS STRICT",
        why="PERMISSIVE also admits plain-text calls, which carry no identity the allowed callers can be held to.",
        fix=_edit("traffic"),
        check=check_mtls,
        applies=_in_mesh,
        applies_to="services in the mesh",
    ),
    Rule(
        id="drift-clean",
        level=GOLD,
        title="No drift for 24 hours",
        why="The latest drift check found nothing changed behind the portal's back, and is younger than 24 hours "
        "(the hourly sweep keeps it so).",
        fix=_service_page("runs-heading"),
        check=check_drift,
    ),
)

RULE_IDS: tuple[str, ...] = tuple(rule.id for rule in RULES)
RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}
