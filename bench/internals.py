"""Every part of the portal and of provisioning that the benchmarks call, in one module: when those packages move,
this file is the one to re-point. Import it only after ``django.setup()`` (it loads models).

The benchmarks drive the portal through what a worker or a request runs (operations, the engine, the targets'
backends, the API); they change nothing in it.
"""

from portal.catalog.api.serializers import ServiceSerializer, service_queryset
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
from portal.users.models import User
from provisioning.apply.kubernetes import ClusterWriter
from provisioning.aws.backend import AwsBackend
from provisioning.aws.bootstrap import bootstrap
from provisioning.aws.clients import is_write
from provisioning.aws.clients import session as aws_session
from provisioning.choices import ChangeAction, RunAction, RunStatus
from provisioning.desired import SERVICE_KINDS, render_service
from provisioning.desired.aws import ALARM, CERTIFICATE, LOG_GROUP, METRIC_FILTER, RECORD, TOPIC
from provisioning.diff import plan_changes
from provisioning.kube import api_client, dynamic_client
from provisioning.models import ManagedResource, ProvisioningRun
from provisioning.names import LABEL_MANAGED_BY, LABEL_SERVICE, MANAGED_BY
from provisioning.observed.kubernetes import ClusterReader
from provisioning.operations import apply_service, approve_run, plan_service
from provisioning.reconcile import Engine, Scope, execute, service_state
from provisioning.resources import AWS, KUBERNETES, Resource, seal
from provisioning.runs import claim
from provisioning.snapshot import platform_snapshot, service_snapshot
from provisioning.targets import KubernetesBackend, kubernetes_backend
from provisioning.tasks import drift_sweep
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
    "drift_sweep",
    "execute",
    "is_write",
    "kubernetes_backend",
    "plan_changes",
    "plan_service",
    "platform_snapshot",
    "render_service",
    "scope_labels",
    "seal",
    "service_queryset",
    "service_snapshot",
    "service_state",
]


def cluster_backend(kubeconfig: str) -> KubernetesBackend:
    """The portal's ``kubernetes`` target on the cluster of a kubeconfig (discovery made once, here)."""
    dyn = dynamic_client(api_client(kubeconfig))
    return KubernetesBackend("kubernetes", ClusterReader(dyn), ClusterWriter(dyn))


def scope_labels(name: str) -> dict[str, str]:
    """The labels a service's objects are found by (those of its scope)."""
    return {LABEL_MANAGED_BY: MANAGED_BY, LABEL_SERVICE: name}
