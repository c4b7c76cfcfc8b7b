import io

import boto3
import pytest
from django.core.management import call_command

from portal.catalog.models import Service
from provisioning.choices import RunStatus
from provisioning.gitrepo import Repo
from provisioning.models import ProvisioningRun
from provisioning.operations import apply_service, approve_run, bootstrap_platform
from provisioning.snapshot import platform_snapshot
from provisioning.spec import PlatformSpec
from tests.engine.conftest import register, run_task

REGION = "ap-northeast-1"


@pytest.fixture(autouse=True)
def gitops_repo(settings, tmp_path):
    """The Kubernetes half of every run goes to a git working tree of the test's own."""
    settings.PORTAL_GITOPS_DIR = tmp_path / "gitops"
    settings.PORTAL_GITOPS_REMOTE = ""
    return Repo(settings.PORTAL_GITOPS_DIR)


def prepare_sandbox(platform) -> None:
    """The sandbox's network and cluster, entered in the platform settings (``manage.py prepare_sandbox``)."""
    call_command("prepare_sandbox", stdout=io.StringIO())
    platform.refresh_from_db()


@pytest.fixture
def sandbox(aws, platform):
    """A fresh sandbox with what real AWS would already have; the platform settings name it."""
    prepare_sandbox(platform)
    return platform


@pytest.fixture
def bootstrapped(sandbox) -> PlatformSpec:
    """The platform scope applied (as `manage.py bootstrap` does): its zones, ALBs, groups, listeners and WAF, with
    what AWS assigned to them (zone ids, ARNs, DNS names), as services see the platform."""
    bootstrap_platform(wait_seconds=10)
    return platform_snapshot()


@pytest.fixture
def sre(django_user_model):
    return django_user_model.objects.create(username="sre", is_sre=True)


@pytest.fixture
def sandbox_client(aws):
    """boto3 clients of the test itself (its own session: these calls are not the portal's, so not recorded)."""
    session = boto3.session.Session()
    return lambda name: session.client(name, region_name=REGION)


def expose(name: str, level: str, hostnames: list[str], **data) -> Service:
    return register(name=name, exposure={"level": level, "hostnames": hostnames}, **data)


def apply(service: Service, sre, **kwargs) -> ProvisioningRun:
    """Apply as a worker would, with an SRE's approval when the plan asks for one."""
    run = run_task(apply_service(service, **kwargs))
    if run.status == RunStatus.AWAITING_APPROVAL:
        run = run_task(approve_run(run, sre))
    return run


def zone_records(client, zone_id: str) -> dict[tuple[str, str], dict]:
    pages = client.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone_id)
    return {(r["Name"].rstrip("."), r["Type"]): r for page in pages for r in page["ResourceRecordSets"]}


def certificates(client, domain: str | None = None) -> list[dict]:
    summaries = [
        c for page in client.get_paginator("list_certificates").paginate() for c in page["CertificateSummaryList"]
    ]
    return [c for c in summaries if domain is None or c["DomainName"] == domain]


def tagged(client, tags: dict[str, str]) -> list[str]:
    filters = [{"Key": k, "Values": [v]} for k, v in tags.items()]
    pages = client.get_paginator("get_resources").paginate(TagFilters=filters)
    return [r["ResourceARN"] for page in pages for r in page["ResourceTagMappingList"]]
