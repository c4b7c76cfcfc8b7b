"""The platform layer (DESIGN §3): what every service relies on, rendered once and owned by ``portal.io/owner:
platform``. Pure like the service builders: a PlatformSpec in, sorted manifests out; no I/O, no clock.

- ``ingress``: per exposure level the Istio ingress gateway (ServiceAccount, Deployment, NodePort Service), its
  Gateway and certificate, the TargetGroupBinding to the level's ALB; the internal route to Nginx.
- ``certificates``: the cluster's CA for everything outside the mesh (cert-manager's issuer chain).
- ``mesh``: meshConfig's extension providers, the mesh-wide Telemetry and PeerAuthentication.
- ``logs``: Fluent Bit routing each service namespace's logs to its log group.
- ``tracing``: the OpenTelemetry Collector exporting to X-Ray.
- ``monitoring``: Prometheus, Alertmanager and the Envoy PodMonitor; Grafana and Kiali settings.
- ``cluster``: PodMonitors of the cluster's components and the platform's own alerts.
- ``tools``: OAuth2 Proxy and the Nginx Ingress controller for tools outside the mesh.
- ``consoles``: Prometheus, Alertmanager, Kiali and Grafana for SREs on the internal ALB, and Grafana's sign-in.
- ``releases``: every component deployed as a Helm release by an Argo CD Application, with the layer's values.
- ``aws``: the shared AWS pieces: zones, the two ALBs with their security groups, target groups and listeners,
  the WAF web ACLs and IP set, the EKS control-plane logs.
- ``alarms``: the ALBs', gateways' and WAF's CloudWatch alarms to the SRE team's topic.

Namespace objects are rendered only for the namespaces the platform layer introduces. The Istio root,
monitoring and cert-manager namespaces belong to the installations of istiod, the Prometheus operator and
cert-manager: the layer puts objects there but never owns (so never prunes) those namespaces.
"""

from provisioning import names
from provisioning.aws.kinds import ALARM
from provisioning.resources import AWS, Resource, k8s, sort_resources
from provisioning.spec import PlatformSpec

from .alarms import build_platform_alarms
from .aws import build_platform_aws
from .certificates import build_certificate_authority
from .cluster import COMPONENT as CLUSTER_MONITORING
from .cluster import build_cluster_alert_routing, build_cluster_monitoring
from .consoles import build_consoles
from .ingress import build_ingress
from .logs import build_logging, platform_log_groups
from .mesh import build_mesh_config
from .monitoring import build_monitoring_stack
from .releases import ARGOCD_NAMESPACE, build_releases
from .tools import build_tools
from .tracing import build_tracing

__all__ = ["PLATFORM_KINDS", "is_alerting", "platform_namespaces", "render_platform"]

# Every kind the platform layer may own, in the API version it writes. The engine lists each of them by the
# platform's owner label, so an object the layer no longer renders is found and pruned.
PLATFORM_KINDS: list[tuple[str, str]] = [
    ("v1", "Namespace"),
    ("v1", "ServiceAccount"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "Service"),
    ("apps/v1", "Deployment"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("networking.k8s.io/v1", "IngressClass"),
    ("networking.k8s.io/v1", "Ingress"),
    ("cert-manager.io/v1", "Certificate"),
    ("cert-manager.io/v1", "ClusterIssuer"),
    ("elbv2.k8s.aws/v1beta1", "TargetGroupBinding"),
    ("networking.istio.io/v1", "Gateway"),
    ("networking.istio.io/v1", "VirtualService"),
    ("networking.istio.io/v1", "DestinationRule"),
    ("security.istio.io/v1", "PeerAuthentication"),
    ("telemetry.istio.io/v1", "Telemetry"),
    ("monitoring.coreos.com/v1", "Prometheus"),
    ("monitoring.coreos.com/v1", "Alertmanager"),
    ("monitoring.coreos.com/v1", "PodMonitor"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("monitoring.coreos.com/v1alpha1", "AlertmanagerConfig"),
    ("argoproj.io/v1alpha1", "Application"),
]


def platform_namespaces(platform: PlatformSpec) -> list[str]:
    """Every namespace the platform layer puts objects in (owned or not), sorted."""
    return sorted(
        {
            platform.ingress_namespace,
            platform.istio_root_namespace,
            platform.monitoring_namespace,
            names.LOGGING_NAMESPACE,
            names.OBSERVABILITY_NAMESPACE,
            names.OAUTH2_PROXY_NAMESPACE,
            names.INGRESS_NGINX_NAMESPACE,
            names.CERT_MANAGER_NAMESPACE,
            ARGOCD_NAMESPACE,
        }
    )


def render_platform(platform: PlatformSpec) -> list[Resource]:
    """Every Kubernetes object and AWS resource of the platform layer, in a deterministic order."""
    manifests = [
        *build_certificate_authority(platform),
        *build_ingress(platform),
        *build_mesh_config(platform),
        *build_logging(platform),
        *build_tracing(platform),
        *build_monitoring_stack(platform),
        *build_cluster_monitoring(platform),
        *build_tools(platform),
        *build_consoles(platform),
        *build_releases(platform),
    ]
    routing = build_cluster_alert_routing(platform)
    aws_pieces = [*build_platform_aws(platform), *build_platform_alarms(platform), *platform_log_groups(platform)]
    return sort_resources([*(k8s(manifest) for manifest in manifests), *routing, *aws_pieces])


def is_alerting(resource: Resource) -> bool:
    """Whether a platform resource only watches: the cluster's monitors, its alert rules and their routing to the SRE
    team (``cluster.py``), the ALBs' and WAF's CloudWatch alarms. Creating or updating these changes no request's
    path, and an on-call hand-over of the SRE team updates them."""
    if resource.provider == AWS:
        return resource.kind == ALARM
    return resource.body.get("metadata", {}).get("labels", {}).get(names.LABEL_NAME) == CLUSTER_MONITORING
