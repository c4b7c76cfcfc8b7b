"""Scorecards: every rule of ``portal.scorecards.rules`` checked for each active service, the level each reaches,
and each team's level (its lowest service's). Computing any number of cards costs the same few queries (the
services with their run outcomes, their latest plans' findings, their teams, the teams' on-call schedules, the
platform's Slack webhook); each card is then stored (``models.StoredCard``), so lists, counts and team levels
read one row per service and check no rule until a card is dropped (``receivers``) or due."""

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import BooleanField, Count, ExpressionWrapper, Max, Min, Q, QuerySet
from django.utils import timezone

from portal.catalog.choices import ServiceState
from portal.catalog.models import PlatformSettings, Service, Team
from portal.oncall.current import pair_at, schedule_queryset, to_schedule
from provisioning.queries import plan_findings, with_run_outcomes

from .models import StoredCard
from .rules import (
    DRIFT_CHECK_MAX_AGE,
    FAIL,
    LEVEL_ORDER,
    LEVELS,
    NONE,
    NOT_APPLICABLE,
    PASS,
    RULE_IDS,
    RULES,
    RULES_BY_ID,
    Context,
    Rule,
    TeamFacts,
)

# How long a stored card is read without computing it again, at most: who is on call changes at hand-overs.
STORED_CARD_MAX_AGE = timedelta(minutes=5)
# The beat's refresh (every minute) computes the cards due within this, and this many services at a time.
REFRESH_AHEAD = timedelta(seconds=90)
REFRESH_BATCH = 500
# Per process, by team filter ("" for all): the cards last read, and the state of the stored cards they were read
# at. A list whose stored cards are all usable and unchanged since is answered from here.
_KEPT: dict[str, tuple[tuple, list["Card"]]] = {}


@dataclass(frozen=True)
class Outcome:
    """A rule's outcome for one service."""

    rule: Rule
    status: str  # pass | fail | n/a
    detail: str
    fix_url: str


# A stored card's statuses, one letter per rule in the rules' order, and which rules those were.
CODES = {PASS: "p", FAIL: "f", NOT_APPLICABLE: "n"}
STATUS_OF_CODE = {code: status for status, code in CODES.items()}
RULE_INDEX = {rule_id: index for index, rule_id in enumerate(RULE_IDS)}
RULES_KEY = hashlib.sha256(",".join(RULE_IDS).encode()).hexdigest()[:12]


class Card:
    """A service's scorecard: each rule's status (``codes``, one letter per rule in the rules' order) and, once
    loaded, what was found (``details``), and the level reached."""

    __slots__ = ("codes", "details", "level", "name", "team", "tier")

    def __init__(self, name: str, team: str, tier: int, level: str, codes: str, details: dict | None = None):
        self.name, self.team, self.tier, self.level, self.codes, self.details = name, team, tier, level, codes, details

    def __repr__(self) -> str:
        return f"<Card {self.name}: {self.level}>"

    @property
    def statuses(self) -> dict[str, str]:
        return {rule_id: STATUS_OF_CODE[code] for rule_id, code in zip(RULE_IDS, self.codes, strict=True)}

    @property
    def outcomes(self) -> tuple[Outcome, ...]:
        """Each rule's outcome, in the rules' order; needs the details (``with_details``)."""
        if self.details is None:
            raise ValueError(f"the card of {self.name} was loaded without its details")
        statuses = self.statuses
        return tuple(
            Outcome(rule, statuses[rule.id], self.details.get(rule.id, ""), rule.fix(self.name, self.team))
            for rule in RULES
        )

    def count(self, status: str) -> int:
        return self.codes.count(CODES[status])

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
        return STATUS_OF_CODE[self.codes[RULE_INDEX[rule_id]]]


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


def outcome(rule: Rule, service: Service, context: Context) -> tuple[str, str]:
    """A rule's status and detail for one service."""
    if not rule.applies(service):
        return NOT_APPLICABLE, f"Applies to {rule.applies_to} only."
    result = rule.check(service, context)
    return (PASS if result.passed else FAIL), result.detail


def level_of(statuses: dict[str, str]) -> str:
    """The highest level whose rules, and those of every level below, all pass or do not apply."""
    failing = {RULES_BY_ID[rule_id].level for rule_id, status in statuses.items() if status == FAIL}
    reached = NONE
    for level in LEVELS:
        if level in failing:
            break
        reached = level
    return reached


def card(service: Service, context: Context) -> Card:
    """A service's card computed now, every rule checked."""
    checked = {rule.id: outcome(rule, service, context) for rule in RULES}
    statuses = {rule_id: status for rule_id, (status, _) in checked.items()}
    details = {rule_id: detail for rule_id, (_, detail) in checked.items()}
    codes = "".join(CODES[statuses[rule_id]] for rule_id in RULE_IDS)
    return Card(service.name, service.team.slug, service.tier, level_of(statuses), codes, details)


def valid_until(service: Service, statuses: dict[str, str], at: datetime) -> datetime:
    """Until when a card computed at ``at`` holds as far as time goes: ``STORED_CARD_MAX_AGE`` (who is on call
    changes at a hand-over), or sooner when a clean drift check grows too old."""
    until = at + STORED_CARD_MAX_AGE
    if statuses.get("drift-clean") == PASS and service.last_drift_at is not None:
        until = min(until, service.last_drift_at + DRIFT_CHECK_MAX_AGE)
    return until


def compute(services: QuerySet[Service], at: datetime) -> list[tuple[Service, Card]]:
    """Each of these services (a queryset of ``scorecard_services``) with its card at ``at``, every rule checked."""
    rows = list(services)
    context = load_context(rows, at)
    return [(service, card(service, context)) for service in rows]


def compute_and_store(services: QuerySet[Service]) -> dict[int, Card]:
    """Compute these services' cards now and store them (one upsert); by service id."""
    at = timezone.now()
    computed = compute(services, at)
    StoredCard.objects.bulk_create(
        [
            StoredCard(
                service_id=service.pk,
                level=c.level,
                rules=RULES_KEY,
                codes=c.codes,
                details=c.details,
                computed_at=at,
                valid_until=valid_until(service, c.statuses, at),
            )
            for service, c in computed
        ],
        update_conflicts=True,
        unique_fields=["service"],
        update_fields=["level", "rules", "codes", "details", "computed_at", "valid_until"],
    )
    return {service.pk: c for service, c in computed}


def scorecards(team: str = "", at: datetime | None = None) -> list[Card]:
    """The cards of every active service (of ``team``, a slug, if given), by name, without their details (see
    ``with_details``).

    Read from the stored cards: one query for any number of services, plus computing those whose stored card is
    missing or past its time (a constant number of queries more). With ``at`` every card is computed for that
    instant instead, and nothing is stored."""
    active = Service.objects.filter(state=ServiceState.ACTIVE)
    if team:
        active = active.filter(team__slug=team)
    if at is not None:
        services = scorecard_services().filter(pk__in=active.values("pk"))
        return sorted((c for _, c in compute(services, at)), key=lambda c: c.name)
    now = timezone.now()
    # Which state the active services and the stored cards are in (two small aggregates, no join): a service
    # added, edited or gone, a card dropped or computed again changes it. The cards read last in this process
    # answer while it holds and no card is due.
    services = active.aggregate(count=Count("pk"), changed=Max("updated_at"))
    stored = StoredCard.objects.aggregate(
        count=Count("pk"),
        last=Max("computed_at"),
        due=Min("valid_until"),
        other=Count("pk", filter=~Q(rules=RULES_KEY)),
    )
    version = (services["count"], services["changed"], stored["count"], stored["last"])
    usable_now = not stored["other"] and (stored["due"] is None or stored["due"] > now)
    if usable_now and (kept := _KEPT.get(team)) is not None and kept[0] == version:
        return list(kept[1])
    usable = ExpressionWrapper(
        Q(stored_card__valid_until__gt=now, stored_card__rules=RULES_KEY), output_field=BooleanField()
    )
    rows = list(
        active.order_by("name")
        .annotate(usable=usable)
        .values_list("pk", "name", "team__slug", "tier", "stored_card__level", "stored_card__codes", "usable")
    )
    stale = [row[0] for row in rows if not row[6]]
    fresh = compute_and_store(scorecard_services().filter(pk__in=stale)) if stale else {}
    cards = []
    for pk, name, slug, tier, level, codes, usable in rows:
        if usable:
            cards.append(Card(name, slug, tier, level, codes))
        elif (computed := fresh.get(pk)) is not None:
            cards.append(Card(name, slug, tier, computed.level, computed.codes))
        # else: no longer active by the time it was computed
    if usable_now and not stale:
        _KEPT[team] = (version, cards)
    return list(cards)


def refresh_due(ahead: timedelta = REFRESH_AHEAD, batch: int = REFRESH_BATCH) -> int:
    """Compute again, and store, the cards of active services whose stored card is missing, of other rules, or
    due within ``ahead``; in batches of ``batch`` services. Returns how many were computed. The beat runs it every
    minute, so the pages rarely meet a card that is due (all would be at once, five minutes after they were first
    computed)."""
    usable = ExpressionWrapper(
        Q(stored_card__valid_until__gt=timezone.now() + ahead, stored_card__rules=RULES_KEY),
        output_field=BooleanField(),
    )
    rows = Service.objects.filter(state=ServiceState.ACTIVE).annotate(usable=usable).values_list("pk", "usable")
    due = [pk for pk, fine in rows if not fine]
    for start in range(0, len(due), batch):
        compute_and_store(scorecard_services().filter(pk__in=due[start : start + batch]))
    # The cards of services no longer active (being deleted: set without a signal) go too.
    StoredCard.objects.exclude(service__state=ServiceState.ACTIVE).delete()
    return len(due)


def with_details(cards: list[Card]) -> list[Card]:
    """These cards with what was found for each rule (one query): for the cards a page or response shows. The
    cards given are left as they are (the lists share them)."""
    rows = StoredCard.objects.filter(service__name__in=[c.name for c in cards]).values_list("service__name", "details")
    details = dict(rows)
    return [Card(c.name, c.team, c.tier, c.level, c.codes, details.get(c.name, {})) for c in cards]


def service_scorecard(name: str) -> Card | None:
    """One active service's card, computed now (and stored); None when there is no such active service."""
    found = compute_and_store(scorecard_services().filter(name=name))
    return next(iter(found.values()), None)


# --- lists: filters, order, counts -------------------------------------------------------------------------------

# Columns to sort by; services of equal value stay in name order, either way.
SORT_KEYS = {
    "service": lambda c: c.name,
    "team": lambda c: c.team,
    "tier": lambda c: c.tier,
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
    result = []
    for index, rule in enumerate(RULES):
        counts = Counter(c.codes[index] for c in cards)
        result.append(
            (
                rule,
                {
                    "passed": counts[CODES[PASS]],
                    "failed": counts[CODES[FAIL]],
                    "not_applicable": counts[CODES[NOT_APPLICABLE]],
                },
            )
        )
    return result


def team_cards(cards: list[Card], teams: QuerySet[Team] | None = None) -> list[TeamCard]:
    """Each team's level from its services' cards (teams without an active service have none), by slug."""
    by_team: dict[str, list[Card]] = {}
    for c in cards:
        by_team.setdefault(c.team, []).append(c)
    result = []
    for slug, name in (teams if teams is not None else Team.objects.all()).order_by("slug").values_list("slug", "name"):
        own = by_team.get(slug, [])
        levels = Counter(c.level for c in own)
        failing = Counter(RULE_IDS[index] for c in own for index, code in enumerate(c.codes) if code == CODES[FAIL])
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
