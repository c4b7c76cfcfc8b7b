"""Scorecards: every rule of ``portal.scorecards.rules`` checked for each active service, the level each reaches,
and each team's level (its lowest service's). Computing any number of cards costs the same few queries (the
services with their run outcomes, their latest plans' findings, their teams, the teams' on-call schedules, the
platform's Slack webhook); each card is then stored (``models.StoredCard``), so lists, counts and team levels
are SQL over one row per service (filtered and sorted on columns kept beside each rule's status) and check no rule
until a card is due (``receivers``: a change; or its time is up), when a worker computes it again."""

import functools
import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q, QuerySet
from django.urls import get_script_prefix
from django.utils import timezone

from portal.catalog.choices import ServiceState
from portal.catalog.models import PlatformSettings, Service, Team
from portal.oncall.current import pair_at, schedule_queryset, to_schedule
from provisioning.queries import plan_findings, with_run_outcomes

from .models import CardDetails, StoredCard
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
        prefix = get_script_prefix()  # once: a page of cards names 1,100 fix pages
        return tuple(
            Outcome(rule, STATUS_OF_CODE[code], self.details.get(rule.id, ""), rule.fix(self.name, self.team, prefix))
            for rule, code in zip(RULES, self.codes, strict=True)
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
    def failing(self) -> list[str]:
        """The ids of the rules it fails, in the rules' order."""
        return [rule_id for rule_id, code in zip(RULE_IDS, self.codes, strict=True) if code == CODES[FAIL]]

    @property
    def failing_bits(self) -> int:
        """Which rules fail: bit i for the i-th rule."""
        return sum(1 << RULE_INDEX[rule_id] for rule_id in self.failing)

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
    and the outcomes of their latest runs. A copy of a queryset built once per process: resolving its eight
    subqueries took a third of the time a read spends computing one card."""
    return _scorecard_services().all()


@functools.cache
def _scorecard_services() -> QuerySet[Service]:
    """Never evaluated itself (``scorecard_services`` hands out copies), so it holds no rows."""
    services = (
        Service.objects.filter(state=ServiceState.ACTIVE)
        .select_related("team", "traffic", "telemetry")
        .defer(*(f"team__{name}" for name in Team.SECRET_FIELDS), "spec_json")
        # Read with the service, before anything else the card reads: what ``compute_and_store`` stores over.
        .annotate(card_version=F("stored_card__version"))
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


# What computing a card again writes over.
STORED_FIELDS = (
    "name",
    "team",
    "tier",
    "level",
    "rank",
    "passed",
    "failed",
    "failing",
    "rules",
    "codes",
    "computed_at",
    "valid_until",
)


def compute_and_store(services: QuerySet[Service]) -> dict[int, Card]:
    """Compute these services' cards now and store them (two upserts: the cards, what was found); by service id.

    Each card is stored only over the version of the stored card that was read with the service, before anything
    else the card reads: a change that commits while the card is computed has made the stored card due and raised
    its version, so what was computed from before the change is not stored over it, and the card stays due for the
    worker that change asked for (``receivers.made_due``). The cards are returned either way."""
    at = timezone.now()
    computed = compute(services, at)
    cards = [
        StoredCard(
            service_id=service.pk,
            name=service.name,
            team_id=service.team_id,
            tier=service.tier,
            level=c.level,
            rank=LEVEL_ORDER.index(c.level),
            passed=c.passed,
            failed=c.failed,
            failing=c.failing_bits,
            rules=RULES_KEY,
            codes=c.codes,
            computed_at=at,
            valid_until=valid_until(service, c.statuses, at),
            version=service.card_version or 0,
        )
        for service, c in computed
    ]
    with transaction.atomic():  # one commit for both
        stored = upsert(StoredCard, cards, STORED_FIELDS, only_if_same="version")
        found = [CardDetails(card_id=service.pk, details=c.details) for service, c in computed if service.pk in stored]
        upsert(CardDetails, found, ("details",))
    return {service.pk: c for service, c in computed}


# Rows per statement: a card has 14 parameters, within PostgreSQL's 65,535 and SQLite's 32,766 (Django's bulk
# writes assume SQLite's old 999, which would make 1,000 cards' details three statements).
UPSERT_BATCH = 1000


def upsert(model, rows: list, update_fields: Iterable[str], only_if_same: str = "") -> set:
    """Insert ``rows`` (instances of ``model``) or, where one with the primary key exists, write its
    ``update_fields`` over it; with ``only_if_same``, only while the stored row still has the value of that field
    the new row has (for a card: no change made it due since it was read). Returns the primary keys written.
    ``INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING``, which PostgreSQL and SQLite both have and
    Django's ``bulk_create`` cannot make conditional: one statement per ``UPSERT_BATCH`` rows, in key order (two
    computations lock rows in the same order)."""
    meta = model._meta
    update = [meta.get_field(name) for name in update_fields]
    fields = [meta.pk, *update, *([meta.get_field(only_if_same)] if only_if_same else [])]
    quote = connection.ops.quote_name
    table, key = quote(meta.db_table), quote(meta.pk.column)
    sets = ", ".join(f"{quote(f.column)} = EXCLUDED.{quote(f.column)}" for f in update)
    where = f" WHERE {table}.{quote(fields[-1].column)} = EXCLUDED.{quote(fields[-1].column)}" if only_if_same else ""
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    columns = ", ".join(quote(field.column) for field in fields)
    rows = sorted(rows, key=lambda r: r.pk)
    written: set = set()
    with connection.cursor() as cursor:
        for start in range(0, len(rows), UPSERT_BATCH):
            batch = rows[start : start + UPSERT_BATCH]
            # Names quoted from the model, every value a parameter.
            sql = (
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(batch))} "  # noqa: S608
                f"ON CONFLICT ({key}) DO UPDATE SET {sets}{where} RETURNING {key}"
            )
            cursor.execute(sql, [f.get_db_prep_save(getattr(r, f.attname), connection) for r in batch for f in fields])
            written.update(pk for (pk,) in cursor.fetchall())
    return written


def active_services(team: str = "") -> QuerySet[Service]:
    """The active services (of ``team``, a slug, if given)."""
    active = Service.objects.filter(state=ServiceState.ACTIVE)
    return active.filter(team__slug=team) if team else active


def store_due(team: str = "", at: datetime | None = None, batch: int | None = None) -> int:
    """Bring the stored cards (of ``team``'s services) up to date as of ``at`` (now): compute and store those of
    active services whose card is missing, of other rules or due by then, and delete those of services no longer
    active (being deleted is set without a signal). The lists call it before they read, so their filters, sorts,
    counts and team levels are SQL over the stored cards alone. One query when nothing is due, a constant number
    more when something is (``compute_and_store``; ``batch`` services at a time if given). Returns how many were
    computed."""
    at = at or timezone.now()
    services = Service.objects.filter(team__slug=team) if team else Service.objects.all()
    due = Q(stored_card__isnull=True) | Q(stored_card__valid_until__lte=at) | ~Q(stored_card__rules=RULES_KEY)
    active = Q(state=ServiceState.ACTIVE)
    rows = services.filter((active & due) | (~active & Q(stored_card__isnull=False))).order_by()
    rows = list(rows.values_list("pk", "state"))
    if gone := [pk for pk, state in rows if state != ServiceState.ACTIVE]:
        StoredCard.objects.filter(service_id__in=gone).delete()
    stale = [pk for pk, state in rows if state == ServiceState.ACTIVE]
    step = batch or len(stale) or 1
    for start in range(0, len(stale), step):
        compute_and_store(scorecard_services().filter(pk__in=stale[start : start + step]))
    return len(stale)


def store_overdue(team: str = "") -> int:
    """What the lists call before they read: ``store_due`` for the cards due for longer than
    ``PORTAL_SCORECARD_GRACE_SECONDS`` (a worker computes the others, ``tasks.compute_due``), and every missing card
    or card of other rules (never listed as it is)."""
    grace = timedelta(seconds=settings.PORTAL_SCORECARD_GRACE_SECONDS)
    return store_due(team, at=timezone.now() - grace)


# Columns to sort by (``-`` first for descending); services of equal value stay in name order, either way.
SORT_KEYS = {
    "service": "name",
    "team": "team__slug",
    "tier": "tier",
    "level": "rank",
    "passed": "passed",
    "failed": "failed",
}
DEFAULT_SORT = "level"
ROW_FIELDS = ("name", "team__slug", "tier", "level", "codes")


def stored_cards(team: str = "") -> QuerySet[StoredCard]:
    """The stored cards (of ``team``'s services) of the current rules: after ``store_due``, one per active service,
    but for a card whose computation a change overtook (``compute_and_store``), which is left out while it is
    still a new service's held card or of other rules, rather than read with codes of other rules."""
    cards = StoredCard.objects.filter(rules=RULES_KEY)
    return cards.filter(team__slug=team) if team else cards


class CardRows:
    """Rows of ``card_rows`` as a paginator takes them: sliced as the ordered rows, counted as the filtered cards
    alone, without the join the rows make for their team's slug (an unfiltered count is then an index scan, not a
    join of every card)."""

    def __init__(self, cards: QuerySet[StoredCard], rows: QuerySet):
        self.cards, self.rows = cards, rows

    def count(self) -> int:
        return self.cards.count()

    def __getitem__(self, index):
        return self.rows[index]

    def __iter__(self):
        return iter(self.rows)


def card_rows(team: str = "", *, level: str = "", failing: str = "", sort: str = DEFAULT_SORT) -> CardRows:
    """The active services' (of ``team``) cards at ``level``, failing rule ``failing``, ordered by ``sort`` (a key of
    ``SORT_KEYS``), as rows of ``ROW_FIELDS`` for ``cards_of``: filtered, ordered and paginated in the database over
    the stored cards alone (``store_due`` first)."""
    cards = stored_cards(team)
    if level:
        cards = cards.filter(level=level)
    if failing:
        bit = 1 << RULE_INDEX[failing]
        cards = cards.alias(failing_bit=F("failing").bitand(bit)).filter(failing_bit=bit)
    key, descending = sort.removeprefix("-"), sort.startswith("-")
    order = [f"-{SORT_KEYS[key]}" if descending else SORT_KEYS[key]]
    if key != "service":
        order.append("name")
    return CardRows(cards, cards.order_by(*order).values_list(*ROW_FIELDS))


def cards_of(rows: Iterable[tuple], details: bool = False) -> list[Card]:
    """Cards from rows of ``card_rows`` (a page of them), with what was found for each rule if ``details`` (one query
    more)."""
    cards = [Card(*row) for row in rows]
    return with_details(cards) if details else cards


def scorecards(team: str = "", at: datetime | None = None) -> list[Card]:
    """The cards of every active service (of ``team``, a slug, if given), by name, without their details.

    Read from the stored cards (``store_due`` first). With ``at`` every card is computed for that instant instead,
    and nothing is stored."""
    if at is not None:
        services = scorecard_services().filter(pk__in=active_services(team).values("pk"))
        return sorted((c for _, c in compute(services, at)), key=lambda c: c.name)
    store_due(team)
    return cards_of(card_rows(team, sort="service"))


def refresh_due(ahead: timedelta = REFRESH_AHEAD, batch: int = REFRESH_BATCH) -> int:
    """Compute again, and store, the cards of active services whose stored card is missing, of other rules, or
    due within ``ahead``, in batches of ``batch`` services, and delete those of services no longer active. Returns
    how many were computed. The beat runs it every minute, so the pages rarely meet a card that is due (all would
    be at once, five minutes after they were first computed)."""
    return store_due(at=timezone.now() + ahead, batch=batch)


def with_details(cards: list[Card]) -> list[Card]:
    """These cards with what was found for each rule (one query): for the cards a page or response shows. The
    cards given are left as they are."""
    found = CardDetails.objects.filter(card__name__in=[c.name for c in cards]).values_list("card__name", "details")
    details = dict(found)
    return [Card(c.name, c.team, c.tier, c.level, c.codes, details.get(c.name, {})) for c in cards]


def service_scorecard(name: str) -> Card | None:
    """One active service's card, computed now (and stored); None when there is no such active service."""
    found = compute_and_store(scorecard_services().filter(name=name))
    return next(iter(found.values()), None)


# --- counts ---------------------------------------------------------------------------------------------------


def _tally(rows: Iterable[tuple[str, int]]) -> list[Counter]:
    """For each rule, how many services have each status letter, from (codes, services) rows."""
    counts = [Counter() for _ in RULES]
    for codes, services in rows:
        for index, code in enumerate(codes):
            counts[index][code] += services
    return counts


def rule_counts(team: str = "") -> list[tuple[Rule, dict[str, int]]]:
    """Each rule with how many active services (of ``team``) pass it (``passed``), fail it (``failed``) and to how
    many it does not apply (``not_applicable``): one query over the stored cards (``store_due`` first), which
    counts each distinct set of outcomes (services share a few), and a sum over those."""
    rows = stored_cards(team).values_list("codes").annotate(services=Count("pk")).order_by()
    counts = _tally(rows)
    return [
        (
            rule,
            {
                "passed": counts[index][CODES[PASS]],
                "failed": counts[index][CODES[FAIL]],
                "not_applicable": counts[index][CODES[NOT_APPLICABLE]],
            },
        )
        for index, rule in enumerate(RULES)
    ]


def team_cards(teams: Iterable[Team] | QuerySet[Team] | None = None) -> list[TeamCard]:
    """Each of these teams' (all, by slug, if none given) level from its active services' stored cards (teams
    without an active service have none): one query for the teams given, which counts each team's distinct sets of
    outcomes (``store_due`` first)."""
    teams = list(Team.objects.order_by("slug") if teams is None else teams)
    rows = (
        StoredCard.objects.filter(team__in=[t.pk for t in teams], rules=RULES_KEY)
        .values_list("team_id", "level", "codes")
        .annotate(services=Count("pk"))
        .order_by()
    )
    by_team: dict[int, list[tuple[str, str, int]]] = {}
    for team_id, level, codes, services in rows:
        by_team.setdefault(team_id, []).append((level, codes, services))
    result = []
    for team in teams:
        own = by_team.get(team.pk, [])
        levels = Counter()
        for level, _, services in own:
            levels[level] += services
        failed = [counts[CODES[FAIL]] for counts in _tally((codes, services) for _, codes, services in own)]
        result.append(
            TeamCard(
                slug=team.slug,
                name=team.name,
                level=min(levels, key=LEVEL_ORDER.index) if levels else None,
                services=sum(services for _, _, services in own),
                levels={level: levels[level] for level in LEVEL_ORDER},
                failing={rule.id: failed[index] for index, rule in enumerate(RULES) if failed[index]},
            )
        )
    return result
