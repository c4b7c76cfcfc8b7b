"""An approved plan that is still fresh is applied as planned, without observing everything again; anything that
could make it wrong (age, a retry, another run of the service since) plans again first."""

from datetime import timedelta

import pytest
from django.utils import timezone

from provisioning.aws import clients
from provisioning.choices import RunStatus
from provisioning.models import Plan, ProvisioningRun
from provisioning.operations import apply_service, approve_run
from tests.engine.conftest import run_task

from .conftest import certificates, expose

HOST = "shop.example.com"


class Recorder(clients.CallCounter):
    """The names of the portal's AWS calls made while it listens (``clients.counting``)."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def add(self, operation: str) -> None:
        super().add(operation)
        self.names.append(operation)


def approve_and_run(run, sre) -> tuple[ProvisioningRun, list[str]]:
    recorder = Recorder()
    with clients.counting(recorder):
        run = run_task(approve_run(run, sre))
    return run, recorder.names


def awaiting(service):
    run = apply_service(service)
    assert run.status == RunStatus.AWAITING_APPROVAL
    return run


def test_a_fresh_approved_plan_is_applied_without_observing_again(team, bootstrapped, sre, sandbox_client):
    run = awaiting(expose("shop", "external", [HOST]))
    planned = run.plan
    run, aws_calls = approve_and_run(run, sre)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.plan_id == planned.pk and Plan.objects.filter(scope=run.scope).count() == 1
    assert run.log_entries.filter(event="provisioning.plan.reused").exists()
    assert not run.log_entries.filter(event="provisioning.plan.ready").exists()
    assert "GetResources" not in aws_calls, "the observe of the plan was not repeated"
    assert "RequestCertificate" in aws_calls and "ChangeResourceRecordSets" in aws_calls
    assert [c["DomainName"] for c in certificates(sandbox_client("acm"))].count(HOST) == 1
    assert run.steps.filter(status="succeeded").count() == run.plan.summary["create"] + run.plan.summary["update"]


@pytest.mark.parametrize("why", ["old", "another-run-since", "retry", "reuse-off"])
def test_a_plan_that_may_be_out_of_date_is_made_again(team, bootstrapped, sre, settings, why):
    run = awaiting(expose("shop", "external", [HOST]))
    planned = run.plan
    if why == "old":
        Plan.objects.filter(pk=planned.pk).update(created_at=timezone.now() - timedelta(minutes=6))
    elif why == "another-run-since":
        ProvisioningRun.objects.create(
            scope=run.scope, action="drift_check", status=RunStatus.SUCCEEDED, finished_at=timezone.now()
        )
    elif why == "retry":
        ProvisioningRun.objects.filter(pk=run.pk).update(attempts=1)  # a worker took it once and vanished
    else:
        settings.PORTAL_PLAN_REUSE_SECONDS = 0
    run, aws_calls = approve_and_run(run, sre)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert not run.log_entries.filter(event="provisioning.plan.reused").exists()
    assert run.log_entries.filter(event="provisioning.plan.ready").exists()
    assert "GetResources" in aws_calls, "the service's resources were observed again"
