"""What portal does when provisioning reports on a run: the catalog row of a destroyed service, the audit log."""

import pytest

from portal.audit.models import AuditEvent
from portal.catalog.api.serializers import ServiceSerializer
from portal.catalog.choices import ServiceState
from portal.catalog.models import Service
from portal.catalog.services import create_service
from provisioning.choices import RunAction, RunStatus
from provisioning.operations import destroy_service
from provisioning.runs.lifecycle import finish, request_run
from provisioning.scopes import service_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def service(team, platform) -> Service:
    serializer = ServiceSerializer(data={"name": "ledger", "team": team.slug})
    serializer.is_valid(raise_exception=True)
    return create_service(serializer.validated_data)


def state(service: Service) -> str | None:
    return Service.objects.filter(pk=service.pk).values_list("state", flat=True).first()


def test_a_requested_destroy_marks_the_service_as_being_deleted(service):
    run = destroy_service(service)
    assert state(service) == ServiceState.DELETING
    assert AuditEvent.objects.filter(action="run.request", object_key=str(run.pk), detail="destroy").exists()


def test_a_failed_destroy_keeps_the_row_marked(service):
    run = destroy_service(service)
    finish(run, RunStatus.FAILED, "the ALB said no")
    assert state(service) == ServiceState.DELETE_FAILED
    assert AuditEvent.objects.get(action="run.failed").detail == f"destroy {run.scope}: the ALB said no"


def test_a_destroy_that_succeeded_deletes_the_row(service, django_user_model):
    alice = django_user_model.objects.create(username="alice")
    run = destroy_service(service, alice)
    finish(run, RunStatus.SUCCEEDED)
    assert state(service) is None
    deleted = AuditEvent.objects.get(action="service.delete")
    assert (deleted.object_key, deleted.actor_name, deleted.source) == ("ledger", "alice", "worker")


@pytest.mark.parametrize("action", [RunAction.APPLY, RunAction.DRIFT_CHECK])
@pytest.mark.parametrize("status", [RunStatus.SUCCEEDED, RunStatus.FAILED])
def test_other_runs_leave_the_row_alone(service, action, status):
    finish(request_run(service_key(service.name), action, service_id=service.pk), status)
    assert state(service) == ServiceState.ACTIVE
