"""Plan, apply with progress, runs, approvals: through the pages, against the AWS sandbox and a gitops tree."""

import pytest
from django.urls import reverse

from provisioning.choices import RunStatus
from provisioning.models import Plan, ProvisioningRun
from tests.engine.conftest import run_task

from .conftest import register

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("aws")]


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_plan_then_apply_then_watch_the_steps(client_for, member, service):
    client = client_for(member)
    response = client.post(reverse("provisioning:plan_create", args=["ledger"]))
    assert response.status_code == 302
    plan = Plan.objects.get()
    assert response["Location"] == reverse("provisioning:plan_detail", args=[plan.pk])

    page = client.get(response["Location"]).content.decode()
    assert "Kubernetes" in page and "AWS" in page
    assert page.index('id="provider-kubernetes"') < page.index('id="provider-aws"')
    assert "Namespace ledger" in page and "logs.LogGroup /eks/sandbox/payments/ledger" in page
    assert "sns.Topic portal-payments-incidents" in page
    assert f'name="plan" value="{plan.pk}"' in page

    response = client.post(reverse("provisioning:apply", args=["ledger"]), {"plan": plan.pk}, follow=True)
    run = ProvisioningRun.objects.get()
    assert response.redirect_chain[-1][0] == reverse("provisioning:run_detail", args=[run.pk])
    assert f"Run #{run.pk} is queued" in response.content.decode()
    progress = client.get(reverse("provisioning:run_progress", args=[run.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in progress and 'data-status="queued"' in progress
    assert "Waiting for a worker" in progress

    run = run_task(run)
    assert run.status == RunStatus.SUCCEEDED, run.error
    progress = client.get(reverse("provisioning:run_progress", args=[run.pk])).content.decode()
    assert "hx-trigger" not in progress  # finished: the page stops asking
    assert 'data-status="succeeded"' in progress and "Done. Every step succeeded." in progress
    assert progress.count('<li class="succeeded" data-status="succeeded">') == run.steps.count() > 0
    assert "provisioning.run.succeeded" in progress  # the log

    page = client.get(reverse("catalog:service_detail", args=["ledger"])).content.decode()
    assert "Provisioned resources" in page and "logs.LogGroup" in page
    history = client.get(reverse("provisioning:run_list", args=["ledger"])).content.decode()
    assert f"#{run.pk}" in history and "Succeeded" in history


def test_a_second_apply_while_one_runs_points_at_the_running_one(client_for, member, service):
    client = client_for(member)
    first = client.post(reverse("provisioning:apply", args=["ledger"]))
    run = ProvisioningRun.objects.get()
    second = client.post(reverse("provisioning:apply", args=["ledger"]), follow=True)
    assert second.redirect_chain[-1][0] == reverse("provisioning:run_detail", args=[run.pk])
    assert f"Run #{run.pk} (apply, queued) is already in progress for ledger; wait for it to finish or cancel it." in (
        messages_of(second)
    )
    assert first.status_code == 302 and ProvisioningRun.objects.count() == 1

    cancelled = client.post(reverse("provisioning:run_cancel", args=[run.pk]), follow=True)
    assert f"Run #{run.pk} is cancelled" in cancelled.content.decode()
    assert ProvisioningRun.objects.get().status == RunStatus.CANCELLED


@pytest.fixture
def exposed(team, platform):
    return register(name="shop", exposure={"level": "external", "hostnames": ["shop.example.com"]})


def test_internet_exposure_waits_for_another_sre(client_for, member, sre, other_sre, exposed):
    response = client_for(member).post(reverse("provisioning:apply", args=["shop"]), follow=True)
    run = ProvisioningRun.objects.get()
    assert run.status == RunStatus.AWAITING_APPROVAL
    page = response.content.decode()
    assert f"Run #{run.pk} waits for a platform SRE" in page
    assert "Waiting for a platform SRE's approval." in page
    assert "Why: exposes the service to the internet on shop.example.com." in page

    assert client_for(member).get(reverse("provisioning:approvals")).status_code == 403
    queue = client_for(sre).get(reverse("provisioning:approvals")).content.decode()
    assert f"Run #{run.pk}: apply shop" in queue and "exposes the service to the internet" in queue
    assert f"Approve run #{run.pk}" in queue

    response = client_for(sre).post(reverse("provisioning:approve", args=[run.pk]), follow=True)
    assert f"Run #{run.pk} is approved and queued" in response.content.decode()
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED and run.approved_by == sre
    assert (
        "Nothing waits for approval." in client_for(other_sre).get(reverse("provisioning:approvals")).content.decode()
    )


def test_the_requester_cannot_approve_their_own_change(client_for, sre, other_sre, exposed):
    client = client_for(sre)
    client.post(reverse("provisioning:apply", args=["shop"]))
    run = ProvisioningRun.objects.get()
    queue = client.get(reverse("provisioning:approvals")).content.decode()
    assert "You requested this change, so another SRE must approve it." in queue
    assert f"Approve run #{run.pk}" not in queue

    response = client.post(reverse("provisioning:approve", args=[run.pk]), follow=True)
    assert messages_of(response) == [
        f"Run #{run.pk} was not approved: The requester cannot approve their own change; ask another SRE."
    ]
    assert ProvisioningRun.objects.get().status == RunStatus.AWAITING_APPROVAL
    assert f"Approve run #{run.pk}" in client_for(other_sre).get(reverse("provisioning:approvals")).content.decode()


def test_rejecting_needs_a_reason_that_the_requester_then_reads(client_for, member, sre, exposed):
    client_for(member).post(reverse("provisioning:apply", args=["shop"]))
    run = ProvisioningRun.objects.get()
    reviewer = client_for(sre)
    response = reviewer.post(reverse("provisioning:reject", args=[run.pk]), {"reason": "  "}, follow=True)
    assert messages_of(response) == [f"Run #{run.pk} was not rejected: write a reason; the requester reads it."]
    assert ProvisioningRun.objects.get().status == RunStatus.AWAITING_APPROVAL

    response = reviewer.post(
        reverse("provisioning:reject", args=[run.pk]), {"reason": "Use internal: it is an admin tool."}, follow=True
    )
    assert messages_of(response) == [f"Run #{run.pk} is rejected; the requester sees your reason on the run's page."]
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    page = client_for(member).get(reverse("provisioning:run_detail", args=[run.pk])).content.decode()
    assert "Rejected by an SRE: Use internal: it is an admin tool." in page
    response = reviewer.post(reverse("provisioning:approve", args=[run.pk]), follow=True)
    assert "is not awaiting approval (it is cancelled)" in messages_of(response)[0]
