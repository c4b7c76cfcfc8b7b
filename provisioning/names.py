"""Every naming rule and label key of provisioned resources, defined once."""

import hashlib
from urllib.parse import urlsplit

from .spec import EXPOSED_LEVELS, INTERNAL, PlatformSpec

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


def mesh_host_forms(service: str) -> tuple[str, ...]:
    """Every name an in-mesh caller may address a service by (and so send as its Host), shortest first."""
    return (service, f"{service}.{service}", f"{service}.{service}.svc", mesh_host(service))


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


def control_plane_log_group_name(cluster: str) -> str:
    """Where EKS writes its control-plane logs (a name EKS fixes); the platform scope sets its retention."""
    return f"/aws/eks/{cluster}/cluster"


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

# The platform's cert-manager ClusterIssuer for certificates outside the mesh (the gateways' towards the ALB, the
# Nginx Ingress's for tools outside the mesh); ``desired/platform/certificates.py`` renders it and its chain.
CLUSTER_ISSUER = "internal-ca"
# The self-signed issuer that signs only the cluster's CA, and the CA's Certificate and Secret.
BOOTSTRAP_ISSUER = "internal-ca-bootstrap"
CLUSTER_CA = "internal-ca"
# cert-manager's cluster resource namespace: a ClusterIssuer reads its CA Secret there.
CERT_MANAGER_NAMESPACE = "cert-manager"


def tls_secret_name(service: str) -> str:
    """The Secret cert-manager writes a service's certificate into, for the Nginx Ingress to serve."""
    return f"{service}-tls"


def external_dependency_name(dependency: str) -> str:
    """The ServiceEntry and DestinationRule of one of a service's external dependencies (in its namespace)."""
    return f"external-{dependency}"


def ingress_gateway_name(level: str) -> str:
    """The Deployment and NodePort Service of an exposure level's Istio ingress gateway."""
    return f"istio-ingressgateway-{level}"


def ingress_gateway_service_account(level: str) -> str:
    """The ServiceAccount of an exposure level's Istio ingress gateway; the platform layer renders it."""
    return ingress_gateway_name(level)


# The pod label an ingress gateway's Deployment, NodePort Service and Istio Gateway select its pods by.
INGRESS_GATEWAY_LABEL = "istio"


def ingress_gateway_selector(level: str) -> dict[str, str]:
    return {INGRESS_GATEWAY_LABEL: f"{level}-ingressgateway"}


def gateway_tls_secret_name(level: str) -> str:
    """The Secret (written by cert-manager) an exposure level's Gateway serves HTTPS to the ALB with."""
    return f"{gateway_name(level)}-tls"


# Namespaces of the platform's shared components (besides the settings' ingress, Istio root and monitoring ones).
LOGGING_NAMESPACE = "logging"
OBSERVABILITY_NAMESPACE = "observability"
OAUTH2_PROXY_NAMESPACE = "oauth2-proxy"
INGRESS_NGINX_NAMESPACE = "ingress-nginx"

# Grafana sidecar conventions: the labels it watches for dashboards and data sources, the folder annotation.
LABEL_GRAFANA_DASHBOARD = "grafana_dashboard"
LABEL_GRAFANA_DATASOURCE = "grafana_datasource"
ANNOTATION_GRAFANA_FOLDER = "grafana_folder"

# The Secret (created by the platform operators, never rendered) holding OAuth2 Proxy's client and cookie secrets.
OAUTH2_PROXY_CREDENTIALS = "oauth2-proxy"
# OAuth2 Proxy's Service, which the platform's Ingress serves and Nginx asks about every request.
OAUTH2_PROXY_SERVICE = "oauth2-proxy"
OAUTH2_PROXY_SERVICE_PORT = 80


# The platform's own web UIs, each at ``<tool>.<internal zone>`` on the internal ALB (behind OAuth2 Proxy).
PLATFORM_UIS = ("alertmanager", "grafana", "kiali", "prometheus")


def platform_ui_host(tool: str, internal_zone: str) -> str:
    return f"{tool}.{internal_zone}"


def url_host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def platform_hosts(platform: PlatformSpec) -> dict[str, list[str]]:
    """Exposure level -> every hostname the platform itself serves there, sorted: OAuth2 Proxy's sign-in host,
    Grafana's address and the platform UIs, all on the internal ALB. The one definition the Kubernetes objects
    serving them, their DNS records and certificates, and the wiring checks read.

    A URL setting whose host lies outside the internal zone (a Grafana run elsewhere, an in-cluster address) is
    served by someone else, so it is none of the platform's hosts."""
    zone = platform.internal_zone
    internal = {platform_ui_host(tool, zone) for tool in PLATFORM_UIS}
    for url in (platform.oauth2_proxy_url, platform.grafana_url):
        if (host := url_host(url)).endswith(f".{zone}"):
            internal.add(host)
    return {level: sorted(internal) if level == INTERNAL else [] for level in EXPOSED_LEVELS}


# The Secret (created by the platform operators, never rendered) holding Grafana's client secret at the IdP, and
# where Grafana's pods mount it (the Grafana chart's ``extraSecretMounts``).
GRAFANA_OAUTH_CREDENTIALS = "grafana-oauth"
GRAFANA_OAUTH_SECRET_KEY = "client-secret"  # noqa: S105 -- the key's name, not a secret
GRAFANA_OAUTH_MOUNT = "/etc/secrets/grafana-oauth"


def oauth2_proxy_auth_url() -> str:
    """Nginx checks each request with OAuth2 Proxy inside the cluster: the internal ALB's WAF admits only
    the corp network, not the nodes, so the public address would be refused."""
    return f"http://{OAUTH2_PROXY_SERVICE}.{OAUTH2_PROXY_NAMESPACE}.svc.{CLUSTER_DOMAIN}/oauth2/auth"


def ingress_gateway_principal(ingress_namespace: str, level: str) -> str:
    """The SPIFFE principal of an exposure level's ingress gateway, as an AuthorizationPolicy source."""
    return f"{CLUSTER_DOMAIN}/ns/{ingress_namespace}/sa/{ingress_gateway_service_account(level)}"


# --- AWS ----------------------------------------------------------------------------------------
MANAGED_TAG_VALUE = "true"

# The per-service 5xx metric that a metric filter on the service's log group publishes (see desired/aws.py).
METRIC_NAMESPACE = "Portal/Services"


def service_tags(team: str, service: str) -> dict[str, str]:
    """Tags of every AWS resource one service owns."""
    return {TAG_MANAGED: MANAGED_TAG_VALUE, TAG_TEAM: team, TAG_SERVICE: service}


def team_tags(team: str) -> dict[str, str]:
    """Tags of a team's shared AWS resources (its SNS topic): no service tag, so no service's scope claims them."""
    return {TAG_MANAGED: MANAGED_TAG_VALUE, TAG_TEAM: team}


def platform_tags(name: str) -> dict[str, str]:
    """Tags of the platform scope's shared AWS pieces (ALBs, their groups and listeners, WAF ACLs, ...)."""
    return {TAG_MANAGED: MANAGED_TAG_VALUE, TAG_OWNER: OWNER_PLATFORM, "Name": name}


def platform_identity() -> dict[str, str]:
    """The tags that make a same-named AWS resource the platform's to adopt (anything else is someone else's)."""
    return {TAG_MANAGED: MANAGED_TAG_VALUE, TAG_OWNER: OWNER_PLATFORM}


def http_5xx_metric_name(service: str) -> str:
    return f"{service}-http-5xx"


def metric_filter_name(service: str) -> str:
    return f"portal-{service}-5xx"


def record_owner_name(hostname: str) -> str:
    """The TXT record next to an alias record that says which service owns it (Route53 records have no tags)."""
    return f"_portal-owner.{hostname}"


def arn_partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def sns_topic_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:{arn_partition(region)}:sns:{region}:{account_id}:{name}"


def log_group_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:{arn_partition(region)}:logs:{region}:{account_id}:log-group:{name}"


def alarm_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:{arn_partition(region)}:cloudwatch:{region}:{account_id}:alarm:{name}"


def _short(prefix: str, cluster: str, limit: int) -> str:
    """Names ELBv2 limits to 32 characters: a digest of the cluster name stands in when it is too long."""
    name = f"{prefix}-{cluster}"
    if len(name) <= limit:
        return name
    return f"{prefix}-{hashlib.sha256(cluster.encode()).hexdigest()[: limit - len(prefix) - 1]}"


def alb_name(cluster: str, level: str) -> str:
    return _short(f"portal-{level}", cluster, 32)


def target_group_name(cluster: str, level: str) -> str:
    """The one target group of a level's ALB: the Istio ingress gateway's NodePort, bound by the LB controller."""
    return _short(f"portal-{level}-gw", cluster, 32)


def alb_security_group_name(cluster: str, level: str) -> str:
    """The security group of a level's ALB (EC2 allows 255 characters, but not the ``sg-`` prefix)."""
    return f"portal-{level}-alb-{cluster}"


def https_listener_name(cluster: str, level: str) -> str:
    """The listener of a level's ALB that serves (services attach their certificates to it)."""
    return f"{alb_name(cluster, level)}-https"


def http_listener_name(cluster: str, level: str) -> str:
    """The listener of a level's ALB that redirects plain HTTP to HTTPS."""
    return f"{alb_name(cluster, level)}-http"


def default_certificate_name(cluster: str, level: str) -> str:
    """The certificate of the zone's apex an HTTPS listener presents when no SNI certificate matches."""
    return f"{alb_name(cluster, level)}-default"


def web_acl_name(cluster: str, level: str) -> str:
    return _short(f"portal-{level}", cluster, 128)


def corp_ip_set_name(cluster: str) -> str:
    """The WAF IP set the internal web ACL allows: the corp networks and the NAT gateways' egress addresses."""
    return _short("portal-corp", cluster, 128)


def sandbox_vpc_name(cluster: str) -> str:
    return f"portal-{cluster}"


def sandbox_nodes_group_name(cluster: str) -> str:
    """The sandbox's stand-in for the security group of the cluster's nodes (real AWS has one per node group)."""
    return f"portal-{cluster}-nodes"


def irsa_role_arn(account_id: str, cluster: str, component: str) -> str:
    """The IAM role a platform component's ServiceAccount assumes (IRSA): one role per component and cluster,
    created with the cluster (its trust policy names ``system:serviceaccount:<namespace>:<component>``; what each
    needs is in ``iam/irsa/``)."""
    return f"arn:aws:iam::{account_id}:role/{cluster}-{component}"


IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
