"""A change that commits while a card is being computed, from another connection: the computation read the service
before the change and stores after it; the card it computed is not stored over the card the change made due.
Real threads, each with its own PostgreSQL connection."""

import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from portal.catalog.models import Service
from portal.scorecards import cards
from portal.scorecards.models import StoredCard

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL (SQLite serializes writers on one file lock)")


def test_a_change_committed_during_a_computation_leaves_the_card_due(gold, slack, monkeypatch):
    assert next(iter(cards.scorecards())).status_of("runbook") == "pass"
    StoredCard.objects.filter(service=gold).update(valid_until=timezone.now())  # due: a worker computes it
    read, committed = threading.Event(), threading.Event()
    load_context = cards.load_context
    computed: list = []

    def wait_for_the_change(rows, at):
        if threading.current_thread() is not threading.main_thread():
            read.set()
            assert committed.wait(20)
        return load_context(rows, at)

    def worker() -> None:
        try:
            computed.extend(cards.compute_and_store(cards.scorecard_services().filter(pk=gold.pk)).values())
        finally:
            connections.close_all()

    monkeypatch.setattr(cards, "load_context", wait_for_the_change)
    thread = threading.Thread(target=worker)
    thread.start()
    assert read.wait(20)
    service = Service.objects.get(pk=gold.pk)
    service.runbook_url = ""
    service.save()  # commits at once (autocommit): the card is due again, its version raised
    committed.set()
    thread.join(30)
    assert not thread.is_alive()
    [card] = computed
    assert card.status_of("runbook") == "pass"  # computed from the service as it was read
    stored = StoredCard.objects.get(service=gold)
    assert stored.valid_until <= timezone.now() and "f" not in stored.codes  # not stored over: still due
    monkeypatch.undo()
    assert next(iter(cards.scorecards())).status_of("runbook") == "fail"
