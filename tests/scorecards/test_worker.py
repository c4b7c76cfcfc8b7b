"""Through a real Celery worker process: a change made in this process makes its card due and asks the worker, which
computes it a second later without any list reading it; changes in quick succession ask once."""

import pytest
from django.utils import timezone

from portal.catalog.models import Service
from portal.scorecards import tasks
from portal.scorecards.cards import RULE_INDEX, store_due
from portal.scorecards.models import StoredCard
from tests.worker.fixtures import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def status(name: str, rule: str) -> str:
    return StoredCard.objects.get(name=name).codes[RULE_INDEX[rule]]


def test_the_worker_computes_a_changed_card_once_for_changes_in_quick_succession(
    gold, slack, start_worker, monkeypatch
):
    monkeypatch.setattr(tasks, "_asked_at", -float("inf"))  # whatever an earlier test asked went to its own worker
    worker = start_worker()
    assert store_due() == 1
    assert status("ledger", "runbook") == "p"
    started = timezone.now()
    ledger = Service.objects.get(pk=gold.pk)
    ledger.runbook_url = ""
    ledger.save()  # commits: the card is due, the worker is asked
    ledger.tier = 3
    ledger.save()  # within the second: asked already
    wait_for(lambda: StoredCard.objects.get(name="ledger").computed_at > started, 30, "the worker's card", worker)
    stored = StoredCard.objects.get(name="ledger")
    assert (stored.codes[RULE_INDEX["runbook"]], stored.tier, stored.level) == ("f", 3, "none")
    assert worker.output().count("scorecards.compute_due") >= 1
    assert worker.output().count("Task scorecards.compute_due[") <= 2  # received and succeeded: one task
