"""Scorecards: every rule of ``portal.scorecards.rules`` checked for each active service, the level each reaches,
and each team's level (its lowest service's). Any number of services costs the same few queries: the services
with their run outcomes, their latest plans' findings, their teams, the teams' on-call schedules, the platform's
Slack webhook."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet
from django.utils import timezone

from portal.catalog.choices import ServiceState
from portal.catalog.models import PlatformSettings, Service, Team
from portal.oncall.current import pair_at, schedule_queryset, to_schedule
from provisioning.queries import plan_findings, with_run_outcomes

from .rules import (
    FAIL,
    LEVEL_ORDER,
    LEVELS,
    NONE,
    NOT_APPLICABLE,
    PASS,
    RULES,
    Context,
    Rule,
    TeamFacts,
)


@dataclass(frozen=True)
class Outcome:
    """A rule's outcome for one service."""

    rule: Rule
    status: str  # pass | fail | n/a
    detail: str
    fix_url: str


@dataclass(frozen=True)
class Card:
    """A service's scorecard: each rule's outcome and the level reached."""

    service: Service
    outcomes: tuple[Outcome, ...]
    level: str

    @property
    def name(self) -> str:
        return self.service.name

    @property
    def team(self) -> str:
        return self.service.team.slug

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def passed(self) -> int:
        return self.count(PASS)

    @property
    def failed(self) -> int:
        return self.count(FAIL)

    @property
    def not_applicable(self) -> int:
        return self.count(NOT_APPLICABLE)

    @property
    def next_level(self) -> str | None:
        """The level above the one reached; None at the top."""
        index = LEVEL_ORDER.index(self.level)
        return LEVEL_ORDER[index + 1] if index + 1 < len(LEVEL_ORDER) else None

    @property
    def to_next_level(self) -> tuple[Outcome, ...]:
        """The failing rules that keep the service from the next level."""
        if self.next_level is None:
            return ()
        below = LEVEL_ORDER[: LEVEL_ORDER.index(self.next_level) + 1]
        return tuple(o for o in self.outcomes if o.status == FAIL and o.rule.level in below)

    def status_of(self, rule_id: str) -> str:
        return next(o.status for o in self.outcomes if o.rule.id == rule_id)


@dataclass(frozen=True)
class TeamCard:
    """A team's level: the lowest its active services reach, with how many reach each level."""

    slug: str
    name: str
    level: str | None  # None: no active service
    services: int
    levels: dict[str, int]
    failing: dict[str, int]  # rule id -> its services failing it


def scorecard_services() -> QuerySet[Service]:
    """The active services as the rules read them: their traffic and telemetry, their team without its secrets,
    and the outcomes of their latest runs."""
    services = (
        Service.objects.filter(state=ServiceState.ACTIVE)
        .select_related("team", "traffic", "telemetry")
        .defer(*(f"team__{name}" for name in Team.SECRET_FIELDS), "spec_json")
    )
    return with_run_outcomes(services)


def team_facts(team_ids: Iterable[int], at: datetime) -> dict[int, TeamFacts]:
    """What the rules read of these teams, in a constant number of queries (no secret decrypted)."""
    rows = (
        Team.objects.filter(pk__in=list(team_ids))
        .annotate(
            member_count=Count("memberships", distinct=True),
            has_incident_source=ExpressionWrapper(~Q(incident_alertmanager_url=""), output_field=BooleanField()),
        )
        .values("pk", "slug", "slack_channel", "member_count", "has_incident_source")
    )
    schedules = {row.team_id: row for row in schedule_queryset().filter(team_id__in=[r["pk"] for r in rows])}
    facts = {}
    for row in rows:
        schedule = schedules.get(row["pk"])
        pair = pair_at(to_schedule(schedule) if schedule else None, at)
        rotations = {r.role: len(r.members.all()) for r in schedule.rotations.all()} if schedule else {}
        facts[row["pk"]] = TeamFacts(
            slug=row["slug"],
            members=row["member_count"],
            rotation_people=rotations,
            incident_commander=pair.incident_commander,
            resolver=pair.resolver,
            slack_channel=row["slack_channel"],
            incident_source=row["has_incident_source"],
        )
    return facts


def load_context(services: list[Service], at: datetime | None = None) -> Context:
    """The facts the rules read for these services (loaded through ``scorecard_services``)."""
    at = at or timezone.now()
    return Context(
        now=at,
        teams=team_facts({s.team_id for s in services}, at),
        plans=plan_findings([s.last_plan_id for s in services if s.last_plan_id]),
        platform_slack=PlatformSettings.objects.exclude(slack_webhook_url="").exists(),
    )


def outcome(rule: Rule, service: Service, context: Context) -> Outcome:
    if not rule.applies(service):
        return Outcome(rule, NOT_APPLICABLE, f"Applies to {rule.applies_to} only.", rule.fix(service))
    result = rule.check(service, context)
    return Outcome(rule, PASS if result.passed else FAIL, result.detail, rule.fix(service))


def level_of(outcomes: Iterable[Outcome]) -> str:
    """The highest level whose rules, and those of every level below, all pass or do not apply."""
    failing = {o.rule.level for o in outcomes if o.status == FAIL}
    reached = NONE
    for level in LEVELS:
        if level in failing:
            break
        reached = level
    return reached


def card(service: Service, context: Context, rules: tuple[Rule, ...] = RULES) -> Card:
    outcomes = tuple(outcome(rule, service, context) for rule in rules)
    return Card(service=service, outcomes=outcomes, level=level_of(outcomes))


def scorecards(services: QuerySet[Service] | None = None, at: datetime | None = None) -> list[Card]:
    """The cards of these services (by default every active one; a queryset of ``scorecard_services``)."""
    rows = list(services if services is not None else scorecard_services())
    context = load_context(rows, at)
    return [card(service, context) for service in rows]


def service_scorecard(name: str, at: datetime | None = None) -> Card | None:
    """One active service's card; None when there is no such active service."""
    found = scorecards(scorecard_services().filter(name=name), at)
    return found[0] if found else None


# --- lists: filters, order, counts -------------------------------------------------------------------------------

# Columns to sort by; services of equal value stay in name order, either way.
SORT_KEYS = {
    "service": lambda c: c.name,
    "team": lambda c: c.team,
    "tier": lambda c: c.service.tier,
    "level": lambda c: LEVEL_ORDER.index(c.level),
    "passed": lambda c: c.passed,
    "failed": lambda c: c.failed,
}
DEFAULT_SORT = "level"


def select(cards: list[Card], *, level: str = "", failing: str = "", sort: str = DEFAULT_SORT) -> list[Card]:
    """The cards at ``level``, failing rule ``failing``, ordered by ``sort`` (a key of ``SORT_KEYS``, ``-`` first
    for descending)."""
    chosen = [c for c in cards if (not level or c.level == level) and (not failing or c.status_of(failing) == FAIL)]
    by_name = sorted(chosen, key=lambda c: c.name)
    return sorted(by_name, key=SORT_KEYS[sort.removeprefix("-")], reverse=sort.startswith("-"))


def rule_counts(cards: list[Card]) -> list[tuple[Rule, dict[str, int]]]:
    """Each rule with how many of the cards pass it (``passed``), fail it (``failed``) and to how many it does not
    apply (``not_applicable``)."""
    counts = {rule.id: Counter() for rule in RULES}
    for c in cards:
        for o in c.outcomes:
            counts[o.rule.id][o.status] += 1
    return [
        (
            rule,
            {
                "passed": counts[rule.id][PASS],
                "failed": counts[rule.id][FAIL],
                "not_applicable": counts[rule.id][NOT_APPLICABLE],
            },
        )
        for rule in RULES
    ]


def team_cards(cards: list[Card], teams: QuerySet[Team] | None = None) -> list[TeamCard]:
    """Each team's level from its services' cards (teams without an active service have none), by slug."""
    by_team: dict[str, list[Card]] = {}
    for c in cards:
        by_team.setdefault(c.team, []).append(c)
    result = []
    for slug, name in (teams if teams is not None else Team.objects.all()).order_by("slug").values_list("slug", "name"):
        own = by_team.get(slug, [])
        levels = Counter(c.level for c in own)
        failing = Counter(o.rule.id for c in own for o in c.outcomes if o.status == FAIL)
        result.append(
            TeamCard(
                slug=slug,
                name=name,
                level=min((c.level for c in own), key=LEVEL_ORDER.index) if own else None,
                services=len(own),
                levels={level: levels[level] for level in LEVEL_ORDER},
                failing={rule.id: failing[rule.id] for rule in RULES if failing[rule.id]},
            )
        )
    return result
