"""Every naming rule and label key of provisioned resources, defined once."""

# Recommended Kubernetes labels plus the portal's ownership labels, on every object.
LABEL_NAME = "app.kubernetes.io/name"
LABEL_PART_OF = "app.kubernetes.io/part-of"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY = "platform-portal"
LABEL_TEAM = "portal.io/team"
LABEL_SERVICE = "portal.io/service"
LABEL_OWNER = "portal.io/owner"
OWNER_PLATFORM = "platform"

# Server-side apply: one field manager for everything the portal writes.
FIELD_MANAGER = "portal"

# AWS tags on every resource the portal creates.
TAG_TEAM = "portal:team"
TAG_SERVICE = "portal:service"
TAG_MANAGED = "portal:managed"
TAG_OWNER = "portal:owner"

CLUSTER_DOMAIN = "cluster.local"


def service_labels(team: str, service: str) -> dict[str, str]:
    return {
        LABEL_NAME: service,
        LABEL_PART_OF: team,
        LABEL_MANAGED_BY: MANAGED_BY,
        LABEL_TEAM: team,
        LABEL_SERVICE: service,
    }


def platform_labels(component: str) -> dict[str, str]:
    return {
        LABEL_NAME: component,
        LABEL_PART_OF: "platform",
        LABEL_MANAGED_BY: MANAGED_BY,
        LABEL_OWNER: OWNER_PLATFORM,
    }


def service_selector(service: str) -> str:
    """Label selector of every Kubernetes object the portal manages for one service."""
    return f"{LABEL_MANAGED_BY}={MANAGED_BY},{LABEL_SERVICE}={service}"


def platform_selector() -> str:
    return f"{LABEL_MANAGED_BY}={MANAGED_BY},{LABEL_OWNER}={OWNER_PLATFORM}"


def mesh_host(service: str) -> str:
    """The in-mesh FQDN of a service: each service lives in the namespace of its own name."""
    return f"{service}.{service}.svc.{CLUSTER_DOMAIN}"


def principal(service: str) -> str:
    """The SPIFFE principal of a service's workload (its ServiceAccount has the service's name)."""
    return f"{CLUSTER_DOMAIN}/ns/{service}/sa/{service}"


def gateway_name(level: str) -> str:
    """The Istio Gateway of an exposure level; the platform renders it, VirtualServices bind to it."""
    return f"{level}-gateway"


def gateway_ref(ingress_namespace: str, level: str) -> str:
    return f"{ingress_namespace}/{gateway_name(level)}"


def port_name(protocol: str, port: int) -> str:
    """Istio protocol selection by port name prefix (http-, grpc-, tcp-)."""
    return f"{protocol}-{port}"


def log_group_name(cluster: str, team: str, service: str) -> str:
    return f"/eks/{cluster}/{team}/{service}"


def team_topic_name(team: str) -> str:
    return f"portal-{team}-incidents"


def alarm_name(service: str) -> str:
    return f"portal-{service}-alb-5xx"


def receiver_secret_name(team: str) -> str:
    return f"{team}-alert-receivers"


# The Service port Prometheus scrapes when metrics have their own port; the ServiceMonitor selects it by name.
METRICS_PORT_NAME = "http-metrics"

# Pods carry their release in this label; canary subsets select on it.
LABEL_VERSION = "version"

# The platform's cert-manager ClusterIssuer for certificates served by the Nginx Ingress (tools outside the mesh).
CLUSTER_ISSUER = "internal-ca"


def tls_secret_name(service: str) -> str:
    """The Secret cert-manager writes a service's certificate into, for the Nginx Ingress to serve."""
    return f"{service}-tls"


def ingress_gateway_service_account(level: str) -> str:
    """The ServiceAccount of an exposure level's Istio ingress gateway; the platform layer renders it."""
    return f"istio-ingressgateway-{level}"


def ingress_gateway_principal(ingress_namespace: str, level: str) -> str:
    """The SPIFFE principal of an exposure level's ingress gateway, as an AuthorizationPolicy source."""
    return f"{CLUSTER_DOMAIN}/ns/{ingress_namespace}/sa/{ingress_gateway_service_account(level)}"
