import pytest

from portal.catalog.api.serializers import ServiceSerializer
from portal.catalog.documents import current_document, merge_patch
from portal.catalog.models import Service
from portal.catalog.services import create_service, update_service
from provisioning.gitrepo import Repo
from provisioning.models import ProvisioningRun
from provisioning.runs.tasks import execute_run


@pytest.fixture
def gitops_repo(settings, tmp_path):
    settings.PORTAL_GITOPS_DIR = tmp_path / "gitops"
    settings.PORTAL_GITOPS_REMOTE = ""
    return Repo(settings.PORTAL_GITOPS_DIR)


def register(**data) -> Service:
    serializer = ServiceSerializer(data={"team": "payments", **data})
    serializer.is_valid(raise_exception=True)
    return create_service(serializer.validated_data)


def update(service: Service, **changes) -> Service:
    service = Service.objects.get(pk=service.pk)
    serializer = ServiceSerializer(instance=service, data=merge_patch(current_document(service), changes))
    serializer.is_valid(raise_exception=True)
    return update_service(service, serializer.validated_data)


def run_task(run: ProvisioningRun) -> ProvisioningRun:
    """Execute the run's Celery task in this process (as a worker would) and return the fresh row."""
    execute_run.apply(args=[run.pk], task_id=f"test-{run.pk}")
    return ProvisioningRun.objects.get(pk=run.pk)
