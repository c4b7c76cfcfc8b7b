"""The Celery side of runs: the task names beat schedules and queued messages use, found by autodiscovery, and
time limits that come from the settings."""

import pytest
from celery import Celery
from django.conf import settings

from portal.celery import app
from provisioning.runs import dispatch

TASK_NAMES = {
    "provisioning.execute_run",
    "provisioning.drift_sweep",
    "provisioning.drift_check_batch",
    "provisioning.bootstrap",
    "provisioning.reap_runs",
    "provisioning.compact_runs",
    "oncall.refresh_routing",
    "notify.post_to_slack",
    "scorecards.refresh",
    "scorecards.compute_due",
}


@pytest.fixture(scope="module")
def tasks():
    app.loader.import_default_modules()  # what a worker does at start: autodiscovery
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def test_autodiscovery_finds_every_task_under_its_name(tasks):
    assert set(tasks) == TASK_NAMES


def test_messages_are_sent_to_registered_names(tasks):
    sent = {
        dispatch.EXECUTE_RUN,
        dispatch.DRIFT_SWEEP,
        dispatch.DRIFT_CHECK_BATCH,
        dispatch.BOOTSTRAP,
        dispatch.REAP_RUNS,
    }
    assert sent <= set(tasks)


def test_beat_schedules_registered_tasks(tasks):
    assert {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} <= set(tasks)


def test_time_limits_come_from_the_settings(tasks):
    """No task sets limits of its own: an app configured with other limits gives them to every task (the
    reaper's come from ``CELERY_TASK_ANNOTATIONS``), as a worker started with other settings would."""
    assert (app.conf.task_time_limit, app.conf.task_soft_time_limit) == (
        settings.CELERY_TASK_TIME_LIMIT,
        settings.CELERY_TASK_SOFT_TIME_LIMIT,
    )
    other = Celery("limits", set_as_current=False)
    reaper = {"time_limit": 90, "soft_time_limit": 80}
    other.conf.update(
        task_time_limit=1234,
        task_soft_time_limit=1200,
        task_annotations={"provisioning.reap_runs": reaper},
    )
    other.finalize()
    limits = {name: (other.tasks[name].soft_time_limit, other.tasks[name].time_limit) for name in tasks}
    assert limits.pop("provisioning.reap_runs") == (80, 90)
    assert limits == {name: (1200, 1234) for name in TASK_NAMES - {"provisioning.reap_runs"}}
    assert (
        app.tasks["provisioning.reap_runs"].time_limit
        == settings.CELERY_TASK_ANNOTATIONS["provisioning.reap_runs"]["time_limit"]
    )


def test_tasks_acknowledge_late(tasks):
    assert all(task.acks_late for task in tasks.values())


@pytest.mark.parametrize("attempt", [0, 1, 5, 8, 50])
def test_backoff_stays_within_its_cap(attempt):
    assert 0 <= dispatch.backoff(attempt) <= min(300, 2**attempt)
