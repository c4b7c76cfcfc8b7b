"""Lists read the stored cards: one query for any number of services, until something a card was computed from
changes (its receivers make it due and ask a worker to compute it) or its time is up (who is on call, a drift check
growing old, a change made without a signal)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from portal.catalog.models import Membership, PlatformSettings, Service, Team
from portal.oncall.models import Rotation
from portal.scorecards import cards
from portal.scorecards.cards import STORED_CARD_MAX_AGE, scorecards, with_details
from portal.scorecards.models import StoredCard
from portal.users.models import User
from provisioning.choices import RunAction, RunStatus
from provisioning.models import ProvisioningRun
from provisioning.runs.lifecycle import finish

from .world import GOLD, plan, register, run

pytestmark = pytest.mark.django_db


def card_of(name: str = "ledger"):
    return next(c for c in scorecards() if c.name == name)


def test_a_second_read_checks_no_rule(gold, slack):
    assert card_of().level == "gold"
    stored = StoredCard.objects.get(service=gold)
    assert stored.level == "gold" and set(stored.codes) == {"p"}
    with CaptureQueriesContext(connection) as queries:
        cards = scorecards()
    assert len(queries) == 2, [q["sql"] for q in queries.captured_queries]  # none due, then the cards
    assert [(c.name, c.level, c.details) for c in cards] == [("ledger", "gold", None)]
    with CaptureQueriesContext(connection) as queries:
        [detailed] = with_details(cards)
    assert len(queries) == 1
    assert {o.rule.id: o.detail for o in detailed.outcomes}["runbook"] == f"Runbook: {gold.runbook_url}"


def edit_runbook(service: Service) -> None:
    service.runbook_url = ""
    service.save()


def leave_team(service: Service) -> None:
    Membership.objects.filter(team=service.team).exclude(user__username="alice").delete()


def apply_fails(service: Service) -> None:
    finish(run(service, RunAction.APPLY, RunStatus.APPLYING, ago=timedelta(0)), RunStatus.FAILED, "the ALB said no")


def plan_with_error(service: Service) -> None:
    plan(service, [{"code": "PA001", "severity": "error"}])


def rotation_removed(service: Service) -> None:
    Rotation.objects.filter(schedule__team=service.team, role="resolver").delete()


def platform_without_slack(service: Service) -> None:
    # The team's incident source goes unseen (a bulk update): only the platform's save makes the card due.
    Team.objects.filter(pk=service.team_id).update(incident_alertmanager_url="")
    platform = PlatformSettings.load()
    platform.slack_webhook_url = ""
    platform.save()


def team_without_receivers(service: Service) -> None:
    team = Team.objects.get(pk=service.team_id)
    team.slack_channel, team.incident_alertmanager_url = "", ""
    team.save()


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (edit_runbook, "runbook"),
        (leave_team, "team-members"),
        (apply_fails, "apply-succeeded"),
        (plan_with_error, "wiring-clean"),
        (rotation_removed, "oncall-rotation"),
        (platform_without_slack, "alerts-reach-oncall"),
        (team_without_receivers, "alerts-reach-oncall"),
    ],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_a_change_to_what_a_card_reads_is_seen_at_once(gold, slack, change, rule):
    assert card_of().failed == 0
    change(Service.objects.get(pk=gold.pk))
    assert StoredCard.objects.get(service=gold).valid_until <= timezone.now()  # due
    assert card_of().status_of(rule) == "fail"


def test_a_change_without_a_signal_is_seen_when_the_card_is_due(gold, slack):
    assert card_of().status_of("runbook") == "pass"
    Service.objects.filter(pk=gold.pk).update(runbook_url="")  # a bulk update sends no signal
    assert card_of().status_of("runbook") == "pass"
    StoredCard.objects.filter(service=gold).update(valid_until=timezone.now())
    assert card_of().status_of("runbook") == "fail"


def runbook_edited_while_computing(service: Service, monkeypatch) -> None:
    """Every computation of cards from now on meets the runbook's removal after it read the services and before
    it reads the rest (and stores): a change committed while a card is computed, in this transaction."""
    load_context = cards.load_context

    def change_then_load(rows, at):
        edit_runbook(Service.objects.get(pk=service.pk))
        return load_context(rows, at)

    monkeypatch.setattr(cards, "load_context", change_then_load)


def test_a_card_computed_from_before_a_change_is_not_stored_over_the_card_it_made_due(gold, slack, monkeypatch):
    """The change lands after the computation read the service and before it stores the card (here in the same
    transaction; across transactions the change's row lock makes the store wait and see the raised version)."""
    assert card_of().status_of("runbook") == "pass"
    before = StoredCard.objects.get(service=gold)
    StoredCard.objects.filter(service=gold).update(valid_until=timezone.now())  # due with no change: time is up
    runbook_edited_while_computing(gold, monkeypatch)
    [computed] = cards.compute_and_store(cards.scorecard_services().filter(pk=gold.pk)).values()
    assert computed.status_of("runbook") == "pass"  # computed from the service as it was read
    stored = StoredCard.objects.get(service=gold)
    assert (stored.computed_at, stored.version) == (before.computed_at, before.version + 1)
    assert stored.valid_until <= timezone.now()  # still due, for the worker the change asked for
    monkeypatch.undo()
    assert card_of().status_of("runbook") == "fail"
    assert StoredCard.objects.get(service=gold).valid_until > timezone.now()


def test_a_new_services_first_card_is_not_stored_over_a_change_made_while_it_was_computed(gold, slack, monkeypatch):
    held = StoredCard.objects.get(service=gold)  # held since the service was created: due, of no rules
    assert (held.rules, held.codes) == ("", "") and held.valid_until <= timezone.now()
    runbook_edited_while_computing(gold, monkeypatch)
    [computed] = cards.compute_and_store(cards.scorecard_services().filter(pk=gold.pk)).values()
    assert computed.status_of("runbook") == "pass"
    assert StoredCard.objects.get(service=gold).rules == ""  # not stored: never listed as computed
    monkeypatch.undo()
    assert card_of().status_of("runbook") == "fail"


def test_a_list_whose_computation_a_change_overtook_leaves_out_the_held_card(gold, slack, monkeypatch):
    """The list computes the new service's card, a change commits meanwhile: the held card stays (due, of no
    rules) and the list, its rule counts and the team levels leave it out rather than read it; the next read
    lists the card computed after the change."""
    runbook_edited_while_computing(gold, monkeypatch)
    client = APIClient()
    client.force_login(User.objects.create(username="reader"))
    listed = client.get("/api/v1/scorecards/?expand=rules")
    assert listed.status_code == 200, listed.content[:300]
    assert listed.json()["results"] == []
    assert StoredCard.objects.get(service=gold).rules == ""
    for path in ("/api/v1/team-scorecards/", "/api/v1/scorecard-rules/", "/scorecards/"):
        assert client.get(path).status_code == 200, path
    assert {rule["id"]: rule["passed"] for rule in client.get("/api/v1/scorecard-rules/").json()}["runbook"] == 0
    monkeypatch.undo()
    [card] = client.get("/api/v1/scorecards/").json()["results"]
    assert card["service"] == "ledger" and "runbook" in card["failing"]


def test_a_card_is_due_when_its_clean_drift_check_grows_too_old(gold, slack):
    card_of()
    stored = StoredCard.objects.get(service=gold)
    assert stored.valid_until == stored.computed_at + STORED_CARD_MAX_AGE
    ProvisioningRun.objects.filter(service=gold, action=RunAction.DRIFT_CHECK).delete()
    StoredCard.objects.all().delete()
    almost = run(gold, RunAction.DRIFT_CHECK, RunStatus.SUCCEEDED, ago=timedelta(hours=24) - timedelta(minutes=1))
    almost.refresh_from_db()
    assert card_of().status_of("drift-clean") == "pass"
    assert StoredCard.objects.get(service=gold).valid_until == almost.finished_at + timedelta(hours=24)


def test_cards_stored_for_other_rules_are_computed_again(gold, slack):
    card_of()
    StoredCard.objects.update(rules="0" * 12, codes="f")
    assert card_of().level == "gold"
    assert StoredCard.objects.get(service=gold).codes == "p" * 11


def test_the_beat_computes_the_cards_that_are_due_before_a_page_meets_them(gold, slack, settings):
    from portal.scorecards.tasks import refresh

    assert settings.CELERY_BEAT_SCHEDULE["scorecards-refresh"] == {"task": "scorecards.refresh", "schedule": 60}
    assert refresh.apply().get() == 1  # never computed
    assert refresh.apply().get() == 0  # fresh for five minutes
    StoredCard.objects.update(valid_until=timezone.now() + timedelta(seconds=60))
    before = StoredCard.objects.get(service=gold).computed_at
    assert refresh.apply().get() == 1  # due within the next run of the beat
    stored = StoredCard.objects.get(service=gold)
    assert stored.computed_at > before and stored.valid_until > timezone.now() + timedelta(minutes=4)
    with CaptureQueriesContext(connection) as queries:
        scorecards()
    assert len(queries) == 2  # nothing computed: none due, then the cards


def test_lists_follow_services_added_and_gone(gold, slack):
    register("wallet", **GOLD)
    assert [c.name for c in scorecards()] == ["ledger", "wallet"]
    Service.objects.get(name="wallet").delete()
    assert [c.name for c in scorecards()] == ["ledger"]
    edit_runbook(Service.objects.get(pk=gold.pk))
    assert card_of().status_of("runbook") == "fail"
    assert card_of().status_of("runbook") == "fail"  # stored, and still right


def test_a_card_made_due_after_the_lists_looked_is_listed_as_it_was_until_the_next_read(gold, slack):
    from portal.scorecards.cards import card_rows, cards_of, store_due

    register("wallet", **GOLD)
    assert store_due() == 2
    edit_runbook(Service.objects.get(pk=gold.pk))  # lands after this read's store_due
    assert [(c.name, c.level) for c in cards_of(card_rows(sort="service"))] == [("ledger", "gold"), ("wallet", "none")]
    assert store_due() == 1  # the next read
    assert [(c.name, c.level) for c in cards_of(card_rows(sort="service"))] == [("ledger", "none"), ("wallet", "none")]


def test_the_beat_drops_the_cards_of_services_being_deleted(gold, slack):
    from portal.scorecards.tasks import refresh

    card_of()
    Service.objects.filter(pk=gold.pk).update(state="deleting")  # as the catalog marks it: no signal
    assert scorecards() == []
    assert refresh.apply().get() == 0
    assert not StoredCard.objects.exists()


def test_a_change_asks_a_worker_and_lists_show_the_card_as_it_was_until_it_is_overdue(
    gold, slack, settings, django_capture_on_commit_callbacks
):
    from portal.scorecards.cards import card_rows, cards_of, store_overdue
    from portal.scorecards.tasks import ask_compute, compute_due

    def listed() -> list[tuple[str, str]]:
        store_overdue()
        return [(c.name, c.level) for c in cards_of(card_rows(sort="service"))]

    settings.PORTAL_SCORECARD_GRACE_SECONDS = 10
    register("wallet", **GOLD)
    assert listed() == [("ledger", "gold"), ("wallet", "none")]  # a missing card is computed at once
    with django_capture_on_commit_callbacks() as asked:
        edit_runbook(Service.objects.get(pk=gold.pk))
    assert asked and set(asked) == {ask_compute}  # once the change commits
    assert listed() == [("ledger", "gold"), ("wallet", "none")]  # due, not overdue: as it was
    assert compute_due.apply().get() == 1  # the worker's task: every card due now
    assert listed() == [("ledger", "none"), ("wallet", "none")]
    # No worker took it: once due for longer than the grace, the list computes it itself.
    Service.objects.filter(name="wallet").update(runbook_url="")
    StoredCard.objects.filter(service__name="wallet").update(valid_until=timezone.now() - timedelta(seconds=11))
    with CaptureQueriesContext(connection) as queries:
        store_overdue()
    assert len(queries) > 2  # computed
    assert StoredCard.objects.get(service__name="wallet").codes[1] == "f"  # runbook


def test_cards_of_other_rules_are_never_listed_even_within_the_grace(gold, slack, settings):
    from portal.scorecards.cards import card_rows, cards_of, store_overdue

    settings.PORTAL_SCORECARD_GRACE_SECONDS = 10
    card_of()
    StoredCard.objects.update(rules="0" * 12, codes="f", valid_until=timezone.now() + timedelta(minutes=5))
    store_overdue()
    assert [(c.name, c.level, c.codes) for c in cards_of(card_rows())] == [("ledger", "gold", "p" * 11)]
