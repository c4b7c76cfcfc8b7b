"""Which channel hears of what, with the link back to the portal: a failed run, an apply waiting for an SRE (its
team's channel and the SRE team's, once), drift (once, not at every sweep that finds the same), an on-call
hand-over. The runs are real (the gitops target, the AWS sandbox); the sends are captured when the transaction
commits and carried out in this process, as a worker would."""

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from django.utils import timezone

from portal.catalog.models import PlatformSettings, Service
from portal.notify import events
from portal.oncall.models import Rotation, RotationMember, Schedule
from portal.oncall.tasks import refresh_routing_at
from portal.users.models import User
from provisioning.choices import RunAction, RunStatus
from provisioning.engine import Engine, service_scope
from provisioning.models import Plan, ProvisioningRun
from provisioning.operations import apply_service, approve_run, drift_check_service
from provisioning.resources import k8s
from provisioning.runs.lifecycle import finish
from provisioning.runs.perform import attempt
from provisioning.scopes import PLATFORM_KEY, team_key
from tests.engine.conftest import register, run_task, update

from .conftest import PAYMENTS_HOOK, PUBLIC_URL, SRE_HOOK, deliver, enqueued, texts


@pytest.fixture(autouse=True)
def gitops(settings, tmp_path):
    settings.PORTAL_GITOPS_DIR = tmp_path / "gitops"
    settings.PORTAL_GITOPS_REMOTE = ""


def run_url(run: ProvisioningRun) -> str:
    return f"{PUBLIC_URL}/runs/{run.pk}/"


# --- a run fails ------------------------------------------------------------------------------------------------


def test_a_failed_run_is_posted_to_its_team_with_a_link_to_the_run(channels, slack, django_capture_on_commit_callbacks):
    service = register(name="ledger")
    engine = Engine()
    # A route to a gateway nothing defines: the wiring checks fail the apply before any write.
    broken = k8s(
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": {"name": "ledger-public", "namespace": "ledger"},
            "spec": {"hosts": ["ledger.example.com"], "gateways": ["istio-ingress/public"], "http": []},
        }
    )
    scope = service_scope("ledger", engine.platform)
    run = ProvisioningRun.objects.create(
        scope="service:ledger", service=service, action=RunAction.APPLY, status=RunStatus.PLANNING, attempts=1
    )
    with django_capture_on_commit_callbacks() as callbacks:
        attempt(run, engine, replace(scope, desired=[*scope.desired, broken]))
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED

    assert deliver(callbacks) == ["posted"]
    [body] = slack.received(PAYMENTS_HOOK)
    assert body["text"] == f"The apply of ledger failed (run #{run.pk}): {run_url(run)}"
    assert "PA001 VirtualService/ledger/ledger-public" in texts([body])[0]
    assert body["blocks"][1]["elements"][0]["url"] == run_url(run)
    assert slack.received(SRE_HOOK) == []  # failures go to the service's team only


def test_a_team_without_a_webhook_gets_nothing_sent(team, notify_settings, django_capture_on_commit_callbacks):
    service = register(name="ledger")
    run = ProvisioningRun.objects.create(
        scope="service:ledger", service=service, action=RunAction.APPLY, status=RunStatus.PLANNING, attempts=1
    )
    with django_capture_on_commit_callbacks() as callbacks:
        finish(run, RunStatus.FAILED, "the ALB said no")
    assert enqueued(callbacks) == []


# --- an apply waits for an SRE --------------------------------------------------------------------------------


EXTERNAL = {"level": "external", "hostnames": ["shop.example.com"]}


def test_an_approval_waiting_is_posted_to_the_team_and_to_the_sre_team(
    channels, slack, django_capture_on_commit_callbacks
):
    olivia = User.objects.create(username="olivia")
    service = register(name="shop", exposure=EXTERNAL)
    with django_capture_on_commit_callbacks() as callbacks:
        run = apply_service(service, olivia)
    assert run.status == RunStatus.AWAITING_APPROVAL
    assert [team_id for team_id, _ in enqueued(callbacks)] == [t.pk for t in channels]
    assert deliver(callbacks) == ["posted", "posted"]
    [team_body], [sre_body] = slack.received(PAYMENTS_HOOK), slack.received(SRE_HOOK)
    assert team_body == sre_body
    approvals = f"{PUBLIC_URL}/approvals/#approval-{run.pk}"
    assert team_body["text"] == f"An apply of shop waits for an SRE's approval (run #{run.pk}): {approvals}"
    assert [b["url"] for b in team_body["blocks"][1]["elements"]] == [approvals, run_url(run)]
    text = texts([team_body])[0]
    assert "It exposes the service to the internet on shop.example.com." in text
    assert "Requested by olivia" in text


def test_the_sre_team_hears_of_its_own_approval_once(channels, slack, django_capture_on_commit_callbacks):
    platform = PlatformSettings.load()
    platform.sre_team = "payments"
    platform.save()
    service = register(name="shop", exposure=EXTERNAL)
    with django_capture_on_commit_callbacks() as callbacks:
        apply_service(service)
    assert deliver(callbacks) == ["posted"]
    assert len(slack.received(PAYMENTS_HOOK)) == 1 and slack.received(SRE_HOOK) == []


def test_a_plan_made_again_that_needs_approval_is_posted_again(channels, slack, django_capture_on_commit_callbacks):
    sam = User.objects.create(username="sam", is_sre=True)
    service = register(name="shop", exposure=EXTERNAL)
    run = apply_service(service)
    approve_run(run, sam)
    # The hostnames change after the approval: the worker plans again, and the new plan needs an SRE again.
    update(service, exposure={"level": "external", "hostnames": ["shop.example.com", "store.example.com"]})
    with django_capture_on_commit_callbacks() as callbacks:
        run = run_task(run)
    assert run.status == RunStatus.AWAITING_APPROVAL
    assert deliver(callbacks) == ["posted", "posted"]
    assert "store.example.com" in texts(slack.received(SRE_HOOK))[0]


# --- drift ------------------------------------------------------------------------------------------------------


def drift_check(service: Service, capture) -> tuple[ProvisioningRun, list]:
    """A drift check as the sweep makes them (nobody asked), and the on-commit callbacks it left."""
    with capture() as callbacks:
        run = run_task(drift_check_service(service))
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run, callbacks


def test_drift_is_posted_once_until_it_changes_or_is_put_back(channels, slack, aws, django_capture_on_commit_callbacks):
    service = register(name="ledger")
    assert run_task(apply_service(service)).status == RunStatus.SUCCEEDED
    logs = boto3.client("logs", endpoint_url=aws.url, region_name="ap-northeast-1")
    group = "/eks/sandbox/payments/ledger"
    logs.put_retention_policy(logGroupName=group, retentionInDays=7)  # behind the portal's back

    first, sent = drift_check(service, django_capture_on_commit_callbacks)
    assert first.routine and first.drift_found
    assert deliver(sent) == ["posted"]
    [body] = slack.received(PAYMENTS_HOOK)
    assert body["text"] == f"Drift found in ledger (run #{first.pk}): {run_url(first)}"
    assert f"• logs.LogGroup {group}: update" in texts([body])[0]

    # The next sweep finds the same drift: nothing new to say.
    second, sent = drift_check(service, django_capture_on_commit_callbacks)
    assert second.drift_found and enqueued(sent) == []

    # Put back by an apply, then drifted again: that is news.
    assert run_task(apply_service(service)).status == RunStatus.SUCCEEDED
    logs.put_retention_policy(logGroupName=group, retentionInDays=5)
    third, sent = drift_check(service, django_capture_on_commit_callbacks)
    assert third.drift_found and deliver(sent) == ["posted"]
    assert len(slack.received(PAYMENTS_HOOK)) == 2


# --- the platform layer and a team's own resources --------------------------------------------------------------


def scope_run(scope: str, action: str, status: str, *, changes=(), error: str = "") -> ProvisioningRun:
    """A run of a scope that is not a service's, as it ended (its plan's changes are what a drift check found)."""
    plan = Plan.objects.create(scope=scope, action=action, fingerprint="0" * 64, changes=list(changes))
    return ProvisioningRun.objects.create(
        scope=scope, action=action, status=status, plan=plan, error=error, finished_at=timezone.now()
    )


def test_the_platform_layers_failed_apply_is_posted_to_the_sre_team(
    channels, slack, django_capture_on_commit_callbacks
):
    run = scope_run(PLATFORM_KEY, RunAction.APPLY, RunStatus.FAILED, error="the listener is gone")
    with django_capture_on_commit_callbacks() as callbacks:
        events.run_failed(run)
    assert deliver(callbacks) == ["posted"]
    [body] = slack.received(SRE_HOOK)
    assert body["text"] == f"The apply of the platform layer failed (run #{run.pk}): {run_url(run)}"
    assert "the listener is gone" in texts([body])[0]
    assert slack.received(PAYMENTS_HOOK) == []


def test_drift_in_a_teams_own_resources_is_posted_to_that_team(channels, slack, django_capture_on_commit_callbacks):
    topic = {"key": "sns/Topic/payments", "kind": "sns.Topic", "namespace": "", "name": "payments", "action": "update"}
    run = scope_run(team_key("payments"), RunAction.DRIFT_CHECK, RunStatus.SUCCEEDED, changes=[topic])
    run.drift_found = True
    run.save()
    with django_capture_on_commit_callbacks() as callbacks:
        events.drift_found(run)
    assert deliver(callbacks) == ["posted"]
    [body] = slack.received(PAYMENTS_HOOK)
    assert body["text"] == f"Drift found in team payments (run #{run.pk}): {run_url(run)}"
    assert "• sns.Topic payments: update" in texts([body])[0]
    assert slack.received(SRE_HOOK) == []


def test_a_scope_whose_team_is_gone_sends_nothing(channels, slack, django_capture_on_commit_callbacks):
    run = scope_run(team_key("gone"), RunAction.APPLY, RunStatus.FAILED, error="no such team")
    with django_capture_on_commit_callbacks() as callbacks:
        events.run_failed(run)
    assert enqueued(callbacks) == []


# --- on-call hand-over ------------------------------------------------------------------------------------------


def test_a_hand_over_names_the_new_incident_commander_and_resolver(channels, slack, django_capture_on_commit_callbacks):
    team, _ = channels
    people = {n: User.objects.create(username=n, email=f"{n}@example.com") for n in ("alice", "bob", "carol", "dave")}
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    schedule = Schedule.objects.create(team=team, time_zone="UTC")
    for role, members in (("incident_commander", ("alice", "bob")), ("resolver", ("carol", "dave"))):
        rotation = Rotation.objects.create(
            schedule=schedule, role=role, shift_hours=24, start_date=start.date(), handoff_time=start.time()
        )
        for position, name in enumerate(members):
            RotationMember.objects.create(rotation=rotation, user=people[name], position=position)

    with django_capture_on_commit_callbacks() as callbacks:
        refresh_routing_at(start + timedelta(hours=1))
    assert deliver(callbacks) == ["posted"]
    with django_capture_on_commit_callbacks() as callbacks:
        refresh_routing_at(start + timedelta(hours=25))
    assert deliver(callbacks) == ["posted"]
    with django_capture_on_commit_callbacks() as callbacks:
        refresh_routing_at(start + timedelta(hours=26))  # the same pair: nothing to say
    assert enqueued(callbacks) == []

    first, second = slack.received(PAYMENTS_HOOK)
    assert "Incident commander: alice (alice@example.com)\nResolver: carol (carol@example.com)" in texts([first])[0]
    assert (
        "Incident commander: bob (bob@example.com) (was alice (alice@example.com))\n"
        "Resolver: dave (dave@example.com) (was carol (carol@example.com))"
    ) in texts([second])[0]
    assert second["text"] == f"On-call hand-over in team Payments: {PUBLIC_URL}/teams/payments/oncall/"


def test_of_the_sweeps_failing_checks_only_the_first_of_a_series_is_posted(
    channels, slack, django_capture_on_commit_callbacks
):
    service = register(name="ledger")

    def failed_check() -> list:
        run = ProvisioningRun.objects.create(
            scope="service:ledger", service=service, action=RunAction.DRIFT_CHECK, status=RunStatus.PLANNING
        )
        assert run.routine
        with django_capture_on_commit_callbacks() as callbacks:
            finish(run, RunStatus.FAILED, "the cluster did not answer")
        return enqueued(callbacks)

    assert len(failed_check()) == 1
    assert failed_check() == []  # an hour later, still failing: already told
    clean = ProvisioningRun.objects.create(
        scope="service:ledger", service=service, action=RunAction.DRIFT_CHECK, status=RunStatus.PLANNING
    )
    finish(clean, RunStatus.SUCCEEDED)
    assert len(failed_check()) == 1  # a new series


def test_a_notification_that_cannot_be_made_leaves_the_run_as_it_ended(
    channels, settings, caplog, django_capture_on_commit_callbacks
):
    service = register(name="ledger")
    run = ProvisioningRun.objects.create(
        scope="service:ledger", service=service, action=RunAction.APPLY, status=RunStatus.PLANNING, attempts=1
    )
    # The key the team's webhook was stored with is gone: reading the team fails.
    settings.PORTAL_ENCRYPTION_KEYS = ["mKZ3sJ4Qk1YQ4cQnYV0ZyY8y3JHkQ8m3tC1b2a9wS0E="]
    with caplog.at_level(logging.WARNING, logger="portal.notify"), django_capture_on_commit_callbacks() as callbacks:
        finish(run, RunStatus.FAILED, "the ALB said no")
    assert enqueued(callbacks) == []
    failures = [r for r in caplog.records if r.getMessage() == "notify.failed"]
    assert [r.event for r in failures] == ["run_failed"] and failures[0].exc_info
    # The transaction is usable and the run is as it ended.
    run = ProvisioningRun.objects.get(pk=run.pk)
    assert (run.status, run.error) == (RunStatus.FAILED, "the ALB said no")
