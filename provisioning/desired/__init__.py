"""Pure builders: one service (plus platform settings) -> the resources it needs. No I/O."""

from ..resources import Resource, sort_resources
from ..spec import PlatformSpec, ServiceSpec
from .alerting import build_alerting
from .aws import build_aws
from .egress import build_egress
from .istio import build_mesh
from .kubernetes import build_core
from .prometheus import build_monitoring

# Every Kubernetes kind a service can own, in the API version the portal writes. Observation lists
# each of them (in the service's namespace), so an object the service no longer needs is found
# and pruned even when its kind is no longer rendered.
SERVICE_KINDS: list[tuple[str, str]] = [
    ("v1", "Namespace"),
    ("v1", "ServiceAccount"),
    ("v1", "Secret"),
    ("v1", "ConfigMap"),
    ("v1", "Service"),
    ("networking.k8s.io/v1", "Ingress"),
    ("cert-manager.io/v1", "Certificate"),
    ("networking.istio.io/v1", "DestinationRule"),
    ("networking.istio.io/v1", "VirtualService"),
    ("networking.istio.io/v1", "ServiceEntry"),
    ("security.istio.io/v1", "PeerAuthentication"),
    ("security.istio.io/v1", "AuthorizationPolicy"),
    ("telemetry.istio.io/v1", "Telemetry"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("monitoring.coreos.com/v1alpha1", "AlertmanagerConfig"),
]


def render_service(svc: ServiceSpec, platform: PlatformSpec) -> list[Resource]:
    """Everything service ``svc`` needs, in a deterministic order."""
    resources = [*build_core(svc, platform), *build_monitoring(svc, platform), *build_alerting(svc, platform)]
    if svc.mesh:
        resources.extend(build_mesh(svc, platform))
        resources.extend(build_egress(svc))
    resources.extend(build_aws(svc, platform))
    return sort_resources(resources)
