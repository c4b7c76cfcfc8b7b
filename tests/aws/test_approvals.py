"""Approvals against the real engine: the approved plan is what gets applied, and nothing else."""

from provisioning.choices import RunStatus
from provisioning.operations import apply_service, approve_run
from tests.engine.conftest import run_task, update

from .conftest import expose


def test_approving_a_stale_plan_plans_again_and_waits_for_a_new_approval(team, bootstrapped, sre):
    service = expose("shop", "external", ["shop.example.com"])
    run = apply_service(service)
    assert run.status == RunStatus.AWAITING_APPROVAL
    approved_plan = run.plan
    # The requester changes the public name after asking, before the SRE looks.
    update(service, exposure={"hostnames": ["store.example.com"]})
    run = run_task(approve_run(run, sre))
    assert run.status == RunStatus.AWAITING_APPROVAL
    assert run.plan.pk != approved_plan.pk
    assert "store.example.com" in run.plan.approval_reasons[0]
    assert run.log_entries.filter(event="provisioning.plan.stale").exists()
    assert not run.steps.exists(), "nothing was applied on the stale approval"
    assert run.approved_by is None, "the approval of the earlier plan does not carry over"
    run = run_task(approve_run(run, sre))
    assert run.status == RunStatus.SUCCEEDED, run.error


def test_changing_the_hostnames_of_an_external_service_needs_approval_again(team, bootstrapped, sre):
    service = expose("shop", "external", ["shop.example.com"])
    run_task(approve_run(apply_service(service), sre))
    assert run_task(apply_service(service)).status == RunStatus.SUCCEEDED  # unchanged: no approval needed
    service = update(service, exposure={"hostnames": ["shop.example.com", "www.example.com"]})
    run = apply_service(service)
    assert run.status == RunStatus.AWAITING_APPROVAL
    assert "changes the internet-facing hostnames" in run.plan.approval_reasons[0]
