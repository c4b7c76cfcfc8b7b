"""The drift sweep's requests: one service whose request fails (here the database refuses its run, through a
trigger) is logged and skipped; the other services of its batch are still checked."""

import logging

import pytest
from django.db import connection

from portal.celery import app as celery_app
from provisioning.choices import RunAction, RunStatus
from provisioning.models import ProvisioningRun
from provisioning.runs.sweep import request_drift_checks

from .conftest import register

SQLITE_TRIGGER = """
CREATE TRIGGER refuse_billing_runs BEFORE INSERT ON {run}
WHEN NEW.scope = 'service:billing'
BEGIN SELECT RAISE(ABORT, 'refused for billing'); END
"""
POSTGRES_TRIGGER = """
CREATE FUNCTION refuse_billing_runs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.scope = 'service:billing' THEN
    RAISE EXCEPTION 'refused for billing';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER refuse_billing_runs BEFORE INSERT ON {run} FOR EACH ROW EXECUTE FUNCTION refuse_billing_runs();
"""


@pytest.fixture
def billing_refused(db):
    """The database refuses every run of billing (rolled back with the test's transaction)."""
    trigger = SQLITE_TRIGGER if connection.vendor == "sqlite" else POSTGRES_TRIGGER
    with connection.cursor() as cursor:
        cursor.execute(trigger.format(run=ProvisioningRun._meta.db_table))
    yield
    celery_app.control.purge()


def test_one_failing_request_leaves_the_rest_of_its_batch_checked(team, billing_refused, caplog):
    for name in ("billing", "invoices", "ledger"):
        register(name=name)
    with caplog.at_level(logging.ERROR, logger="provisioning"):
        assert request_drift_checks(batch_size=10) == 2
    runs = ProvisioningRun.objects.filter(action=RunAction.DRIFT_CHECK)
    assert sorted(runs.values_list("service__name", "status")) == [
        ("invoices", RunStatus.QUEUED),
        ("ledger", RunStatus.QUEUED),
    ]
    failures = [r for r in caplog.records if r.getMessage() == "provisioning.drift.request_failed"]
    assert [r.service for r in failures] == ["billing"] and failures[0].exc_info
