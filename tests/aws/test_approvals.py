"""Approvals against the real engine: the approved plan is what gets applied, and nothing else."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from portal.catalog.api.serializers import ServiceSerializer
from portal.catalog.documents import current_document, merge_patch
from portal.catalog.models import Service
from portal.catalog.services import update_service
from provisioning.choices import RunStatus
from provisioning.errors import PermanentError
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


def test_an_sre_who_changed_the_service_while_the_run_waited_cannot_approve_it(team, bootstrapped, sre):

    users = get_user_model()
    requester = users.objects.create(username="alice")
    other_sre = users.objects.create(username="other-sre", is_sre=True)
    service = expose("shop", "external", ["shop.example.com"])
    run = apply_service(service, requester)
    assert run.status == RunStatus.AWAITING_APPROVAL
    # While the run waits, the SRE points the service at a hostname of their own choosing...
    service = Service.objects.get(pk=service.pk)
    document = merge_patch(current_document(service), {"exposure": {"hostnames": ["mine.example.com"]}})
    serializer = ServiceSerializer(instance=service, data=document)
    serializer.is_valid(raise_exception=True)
    update_service(service, serializer.validated_data, actor=sre)
    # ... and cannot approve the run that would now carry their change out, by any door.
    with pytest.raises(PermanentError, match="you changed shop since its last apply"):
        approve_run(run, sre)
    client = APIClient()
    client.force_authenticate(sre)
    response = client.post(f"/api/v1/approvals/{run.pk}/approve/")
    assert response.status_code == 403, response.content
    assert "another SRE" in response.json()["detail"]
    run.refresh_from_db()
    assert run.status == RunStatus.AWAITING_APPROVAL and run.approved_by is None
    # Another SRE may; the worker plans again (the edit) and waits for an approval of the new plan.
    run = run_task(approve_run(run, other_sre))
    assert run.status == RunStatus.AWAITING_APPROVAL
    assert "mine.example.com" in run.plan.approval_reasons[0]
    with pytest.raises(PermanentError, match="you changed shop"):
        approve_run(run, sre)
    assert run_task(approve_run(run, other_sre)).status == RunStatus.SUCCEEDED
    # Once applied, the SRE's earlier edit is no longer pending: they may approve the next change of others.
    service = Service.objects.get(pk=service.pk)
    document = merge_patch(current_document(service), {"exposure": {"hostnames": ["shop.example.com"]}})
    serializer = ServiceSerializer(instance=service, data=document)
    serializer.is_valid(raise_exception=True)
    update_service(service, serializer.validated_data, actor=requester)
    run = apply_service(Service.objects.get(pk=service.pk), requester)
    assert run_task(approve_run(run, sre)).status == RunStatus.SUCCEEDED
