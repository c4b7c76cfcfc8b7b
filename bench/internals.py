"""Every part of the portal and of provisioning that the benchmarks call, in one module: when those packages move,
this file is the one to re-point. Import it only after ``django.setup()`` (it loads models).

The benchmarks drive the portal through what a worker or a request runs (operations, the engine, the targets'
backends, the API); they change nothing in it.
"""

import io

from django.core.management import call_command

from portal.catalog.api.serializers import ServiceSerializer
from portal.catalog.choices import ServiceState
from portal.catalog.models import (
    Exposure,
    Hostname,
    Membership,
    PlatformSettings,
    Service,
    Team,
    Telemetry,
    Traffic,
)
from portal.catalog.services import create_service
from portal.users.models import User
from provisioning.apply.kubernetes import ClusterWriter
from provisioning.aws.clients import is_write
from provisioning.aws.clients import session as aws_session
from provisioning.aws.kinds import ALARM, CERTIFICATE, LOG_GROUP, METRIC_FILTER, RECORD, TOPIC
from provisioning.choices import ChangeAction, RunAction, RunStatus
from provisioning.desired import SERVICE_KINDS, render_service
from provisioning.diff import plan_changes
from provisioning.engine import Engine, Scope, service_scope
from provisioning.kube import api_client, dynamic_client
from provisioning.models import ManagedResource, ProvisioningRun
from provisioning.names import LABEL_MANAGED_BY, LABEL_SERVICE, MANAGED_BY
from provisioning.observed.kubernetes import ClusterReader
from provisioning.operations import apply_service, approve_run, bootstrap_platform, plan_service
from provisioning.resources import AWS, KUBERNETES, Resource, seal
from provisioning.runs.lifecycle import claim
from provisioning.runs.perform import perform
from provisioning.runs.tasks import drift_sweep
from provisioning.snapshot import platform_snapshot, service_queryset, service_snapshot
from provisioning.targets import AwsBackend, KubernetesBackend, kubernetes_backend
from tests.platform.samples import PLATFORM as SAMPLE_PLATFORM
from tests.platform.samples import SERVICES as SAMPLE_SERVICES

__all__ = [
    "ALARM",
    "AWS",
    "CERTIFICATE",
    "KUBERNETES",
    "LOG_GROUP",
    "METRIC_FILTER",
    "RECORD",
    "SAMPLE_PLATFORM",
    "SAMPLE_SERVICES",
    "SERVICE_KINDS",
    "TOPIC",
    "AwsBackend",
    "ChangeAction",
    "Engine",
    "Exposure",
    "Hostname",
    "KubernetesBackend",
    "ManagedResource",
    "Membership",
    "PlatformSettings",
    "ProvisioningRun",
    "Resource",
    "RunAction",
    "RunStatus",
    "Scope",
    "Service",
    "ServiceSerializer",
    "ServiceState",
    "Team",
    "Telemetry",
    "Traffic",
    "User",
    "apply_service",
    "approve_run",
    "aws_session",
    "bootstrap",
    "claim",
    "cluster_backend",
    "create_service",
    "drift_sweep",
    "is_write",
    "kubernetes_backend",
    "perform",
    "plan_changes",
    "plan_service",
    "platform_snapshot",
    "render_service",
    "scope_labels",
    "seal",
    "service_queryset",
    "service_scope",
    "service_snapshot",
]


def bootstrap() -> None:
    """The sandbox's network and cluster (what real AWS would have), then the platform scope planned and applied,
    as ``make run`` does."""
    call_command("prepare_sandbox", stdout=io.StringIO())
    bootstrap_platform(wait_seconds=30)


def cluster_backend(kubeconfig: str) -> KubernetesBackend:
    """The portal's ``kubernetes`` target on the cluster of a kubeconfig (discovery made once, here)."""
    dyn = dynamic_client(api_client(kubeconfig))
    return KubernetesBackend("kubernetes", ClusterReader(dyn), ClusterWriter(dyn))


def scope_labels(name: str) -> dict[str, str]:
    """The labels a service's objects are found by (those of its scope)."""
    return {LABEL_MANAGED_BY: MANAGED_BY, LABEL_SERVICE: name}
