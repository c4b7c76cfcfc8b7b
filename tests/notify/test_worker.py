"""End to end through a real Celery worker process: the run fails (or waits, or drifts) in the worker or in this
process, the notification goes through the broker to the worker, and the worker posts it to Slack on loopback."""

import socket
import subprocess
import sys
from datetime import UTC, datetime

import boto3
import pytest

from portal.catalog.api.serializers import ServiceSerializer
from portal.catalog.models import Service
from portal.catalog.services import create_service
from portal.notify.messages import message
from portal.notify.tasks import post_to_slack
from portal.oncall.models import Rotation, RotationMember, Schedule
from portal.oncall.tasks import refresh_routing_at
from portal.users.models import User
from provisioning.choices import RunAction, RunStatus
from provisioning.models import ProvisioningRun
from provisioning.operations import apply_service
from provisioning.runs.sweep import request_drift_checks
from tests.worker.fixtures import ROOT, wait_for

from .conftest import PAYMENTS_HOOK, PUBLIC_URL, SRE_HOOK, texts

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def env(worker_env) -> dict[str, str]:
    """The worker's settings: links to the public address, short backoffs."""
    worker_env.update(
        {
            "PORTAL_PUBLIC_URL": PUBLIC_URL,
            "PORTAL_NOTIFY_BACKOFF_SECONDS": "0.2",
            "PORTAL_NOTIFY_MAX_ATTEMPTS": "3",
        }
    )
    return worker_env


@pytest.fixture
def failing_env(env) -> dict[str, str]:
    """AWS does not answer and a run has one attempt: every apply fails, quickly."""
    env.update(
        {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{closed_port()}",
            "PORTAL_RUN_MAX_ATTEMPTS": "1",
            "PORTAL_AWS_MAX_ATTEMPTS": "1",
        }
    )
    return env


def register(name: str, **data) -> Service:
    serializer = ServiceSerializer(data={"name": name, "team": "payments", **data})
    serializer.is_valid(raise_exception=True)
    return create_service(serializer.validated_data)


def finished(run: ProvisioningRun) -> bool:
    return ProvisioningRun.objects.get(pk=run.pk).status in (RunStatus.SUCCEEDED, RunStatus.FAILED)


def test_a_run_failing_in_the_worker_is_posted_with_its_link_after_a_500(channels, slack, failing_env, start_worker):
    worker = start_worker(env=failing_env)
    slack.answer(500)  # the first post fails; the retry is delivered
    run = apply_service(register("ledger"))
    wait_for(lambda: len(slack.received(PAYMENTS_HOOK)) >= 2, 60, "the failure to reach Slack twice", worker)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.error.startswith("gave up after 1 attempts")
    first, second = slack.received(PAYMENTS_HOOK)
    assert first == second
    url = f"{PUBLIC_URL}/runs/{run.pk}/"
    assert second["text"] == f"The apply of ledger failed (run #{run.pk}): {url}"
    assert second["blocks"][1]["elements"][0]["url"] == url
    assert "notify.slack.retrying payments: Slack answered 500" in worker.output()
    assert "notify.slack.posted payments" in worker.output()


def test_a_receiver_that_is_down_changes_nothing_for_the_run(team, notify_settings, failing_env, start_worker):
    team.slack_webhook_url = f"http://127.0.0.1:{closed_port()}/services/TDOWN/BDOWN/down"
    team.save()
    worker = start_worker(env=failing_env)
    run = apply_service(register("ledger"))
    wait_for(lambda: "notify.slack.failed payments after 3 attempt(s)" in worker.output(), 60, "the give-up", worker)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.error.startswith("gave up after 1 attempts")
    assert worker.output().count("notify.slack.retrying payments: no answer (ConnectionError)") == 2
    assert "TDOWN" not in worker.output()


def test_a_broker_that_is_down_when_the_run_ends_changes_nothing_for_the_run(channels, slack, env):
    """The run ends in a process whose broker (Redis) does not answer: the notification cannot be queued, which
    is logged, and the run is recorded as it ended."""
    service = register("ledger")
    run = ProvisioningRun.objects.create(
        scope="service:ledger", service=service, action=RunAction.APPLY, status=RunStatus.APPLYING, attempts=1
    )
    script = (
        "import django; django.setup()\n"
        "from provisioning.choices import RunStatus\n"
        "from provisioning.models import ProvisioningRun\n"
        "from provisioning.runs.lifecycle import finish\n"
        f"finish(ProvisioningRun.objects.get(pk={run.pk}), RunStatus.FAILED, 'the ALB said no')\n"
        "print('finished')\n"
    )
    down = {**env, "REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=down, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and result.stdout.strip() == "finished", result.stderr
    assert "notify.slack.enqueue_failed" in result.stderr
    run.refresh_from_db()
    assert (run.status, run.error) == (RunStatus.FAILED, "the ALB said no")
    assert slack.received(PAYMENTS_HOOK) == []


def test_an_approval_waiting_and_a_hand_over_reach_the_team_and_sre_channels(channels, slack, env, start_worker):
    worker = start_worker(env=env)
    olivia = User.objects.create(username="olivia")
    run = apply_service(register("shop", exposure={"level": "external", "hostnames": ["shop.example.com"]}), olivia)
    assert run.status == RunStatus.AWAITING_APPROVAL
    wait_for(lambda: slack.received(SRE_HOOK) and slack.received(PAYMENTS_HOOK), 30, "both channels", worker)
    assert slack.received(PAYMENTS_HOOK) == slack.received(SRE_HOOK)
    assert slack.received(SRE_HOOK)[0]["text"].endswith(f"{PUBLIC_URL}/approvals/#approval-{run.pk}")

    team, _ = channels
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    schedule = Schedule.objects.create(team=team, time_zone="UTC")
    for role, name in (("incident_commander", "ivy"), ("resolver", "ron")):
        rotation = Rotation.objects.create(
            schedule=schedule, role=role, shift_hours=24, start_date=start.date(), handoff_time=start.time()
        )
        RotationMember.objects.create(rotation=rotation, user=User.objects.create(username=name), position=0)
    refresh_routing_at(start)
    wait_for(lambda: len(slack.received(PAYMENTS_HOOK)) == 2, 30, "the hand-over", worker)
    assert "Incident commander: ivy\nResolver: ron" in texts(slack.received(PAYMENTS_HOOK))[1]
    assert len(slack.received(SRE_HOOK)) == 1


def test_drift_found_by_the_sweep_is_posted_once(channels, slack, env, start_worker, aws):
    worker = start_worker(env=env)
    team, _ = channels
    run = apply_service(register("ledger"))
    wait_for(lambda: finished(run), 60, "the apply", worker)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    logs = boto3.client("logs", endpoint_url=aws.url, region_name="ap-northeast-1")
    logs.put_retention_policy(logGroupName="/eks/sandbox/payments/ledger", retentionInDays=7)

    def sweep() -> ProvisioningRun:
        assert request_drift_checks() == 1
        check = ProvisioningRun.objects.filter(action=RunAction.DRIFT_CHECK).latest("pk")
        wait_for(lambda: finished(check), 60, "the drift check", worker)
        return ProvisioningRun.objects.get(pk=check.pk)

    first = sweep()
    assert first.drift_found
    wait_for(lambda: slack.received(PAYMENTS_HOOK), 30, "the drift message", worker)
    second = sweep()
    assert second.drift_found
    # A marker sent after the second check finished: one worker takes messages in order, so once the marker is
    # posted, anything the second check sent would have been too.
    post_to_slack.apply_async(args=[team.pk, message("marker", [], PUBLIC_URL, "portal")])
    wait_for(lambda: len(slack.received(PAYMENTS_HOOK)) == 2, 30, "the marker", worker)
    drift, marker = slack.received(PAYMENTS_HOOK)
    assert drift["text"] == f"Drift found in ledger (run #{first.pk}): {PUBLIC_URL}/runs/{first.pk}/"
    assert marker["text"].startswith("marker")
