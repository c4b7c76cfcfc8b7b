"""A service's document and the platform's settings as typed, Django-free data.

The serializer validates into this shape and takes its defaults from it, the service form starts from it, the
snapshot freezes catalog rows into it and the builders read it. Every default of a document field is written
here, once: a field's default is the dataclass attribute of the same name (``Telemetry.scrape_interval_seconds``).

A service's document has sections: the basics (its top-level fields), ``exposure``, ``traffic`` and
``telemetry``. Beside the document the spec carries what provisioning needs from the rest of the catalog: the
team, the on-call pair at the snapshot's instant, the services whose routes lead here, and the secret values the
alert receivers need.
"""

import re
from dataclasses import dataclass, field, fields, is_dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

# Exposure levels (seed §15, §16): cluster-internal, behind the internal ALB, behind the internet-facing ALB.
MESH = "mesh"
INTERNAL = "internal"
EXTERNAL = "external"
# The levels an ALB serves: each has its gateway, DNS zone, certificates and WAF.
EXPOSED_LEVELS = (INTERNAL, EXTERNAL)

# A DNS-1123 label, what Kubernetes asks of a namespace's name. A service's name is its namespace and a team's
# slug a label value, so the catalog holds both to it; the preflight checks every rendered namespace with it.
DNS1123_LABEL_PATTERN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL_MAX_LENGTH = 63
DNS1123_LABEL = re.compile(DNS1123_LABEL_PATTERN)


def is_dns1123_label(value: str) -> bool:
    return len(value) <= DNS1123_LABEL_MAX_LENGTH and DNS1123_LABEL.fullmatch(value) is not None


# --- parts of sections ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """Requests whose header matches go to another service (on its main port, when known)."""

    header: str
    match: str  # exact | prefix | regex
    value: str
    target: str  # service name
    target_port: int | None = None


@dataclass(frozen=True)
class Canary:
    """Weighted round robin between the pods' stable and canary versions."""

    version: str
    weight: int
    stable_version: str = "v1"


@dataclass(frozen=True)
class Retries:
    attempts: int
    retry_on: str = "5xx,reset,connect-failure"
    per_try_timeout_seconds: float | None = None


@dataclass(frozen=True)
class OutlierDetection:
    consecutive_5xx: int
    interval_seconds: int = 10
    base_ejection_seconds: int = 30
    max_ejection_percent: int = 50


@dataclass(frozen=True)
class ConnectionPool:
    max_connections: int | None = None
    http1_max_pending_requests: int | None = None
    http2_max_requests: int | None = None


# How an external dependency's bytes leave the sidecar (README, "What gets provisioned"): what the application
# speaks to it, and who does TLS. The sidecar originates TLS only where TLS starts with the connection's first
# byte; MySQL and PostgreSQL negotiate it inside their own protocol, so there the application does TLS itself.
DEPENDENCY_PROTOCOLS = ("http", "tcp", "mysql", "postgresql")
INNER_TLS_PROTOCOLS = ("mysql", "postgresql")
TLS_BY_SIDECAR = "sidecar"
TLS_BY_APPLICATION = "application"
DEPENDENCY_TLS = (TLS_BY_SIDECAR, TLS_BY_APPLICATION)


@dataclass(frozen=True)
class ExternalDependency:
    """An upstream outside the cluster the service calls (a database, a SaaS API), reached through the sidecar.

    ``ca_secret`` names a Secret in the service's namespace holding the CA bundle that verifies the upstream
    (key ``cacert`` or ``ca.crt``, e.g. the RDS CA); empty: the sidecar's system CAs.
    """

    name: str  # a DNS-1123 label, unique in the service: it names the objects rendered for the dependency
    host: str  # a DNS name
    port: int
    protocol: str = "tcp"
    tls: str = TLS_BY_SIDECAR
    ca_secret: str = ""


@dataclass(frozen=True)
class Slo:
    availability: float
    latency_p99_ms: int | None = None


# --- the document's sections ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Basics:
    """What the service is and how it speaks: the document's top-level fields."""

    description: str = ""
    lifecycle: str = "experimental"
    tier: int = 3
    port: int = 8080
    protocol: str = "http"
    mesh: bool = True
    runbook_url: str = ""  # where the on-call engineer reads how to operate it; empty: none written yet


@dataclass(frozen=True)
class Exposure:
    """How far the service is reachable, under which names and paths, and where header routes send requests."""

    level: str = MESH
    hostnames: tuple[str, ...] = ()
    paths: tuple[str, ...] = ("/",)
    routes: tuple[Route, ...] = ()
    builtin_sso: bool = False


@dataclass(frozen=True)
class Traffic:
    """Load balancing, resilience and who may call the service, inside the mesh, and the upstreams outside the
    cluster it calls."""

    load_balancer: str = "round_robin"
    hash_on: str | None = None  # source_ip, header:NAME or cookie:NAME; with consistent_hash only
    canary: Canary | None = None
    timeout_seconds: float | None = None
    retries: Retries | None = None
    outlier_detection: OutlierDetection | None = None
    connection_pool: ConnectionPool | None = None
    mtls: str = "STRICT"
    allowed_callers: tuple[str, ...] = ()
    external_dependencies: tuple[ExternalDependency, ...] = ()


@dataclass(frozen=True)
class Telemetry:
    """Logs, metrics, traces, the dashboard and the SLO."""

    access_logging: bool = True
    log_retention_days: int = 30
    metrics_path: str = "/metrics"
    metrics_port: int | None = None  # None: the service's own port
    scrape_interval_seconds: int = 30
    tracing_sampling_percent: float = 1.0
    dashboard: bool = False
    slo: Slo | None = None


# The document's nested sections by key, in the document's order; the basics are its top-level fields.
SECTIONS: dict[str, type] = {"exposure": Exposure, "traffic": Traffic, "telemetry": Telemetry}
BASICS: tuple[str, ...] = tuple(f.name for f in fields(Basics))


# --- beside the document: team, on call, secrets -------------------------------------------------------------


@dataclass(frozen=True)
class TeamSpec:
    slug: str
    name: str
    slack_channel: str = ""
    # A keyed digest of the incident tool's CloudWatch/SNS source URL (empty: none): the topic's subscription
    # declares it, so a changed URL shows in a plan without the URL being stored.
    incident_sns_fingerprint: str = ""


@dataclass(frozen=True)
class OnCallPair:
    """Who holds each on-call role of the service's team when the snapshot was taken: usernames, and the
    e-mail addresses an incident tool assigns people by."""

    incident_commander: str = ""
    resolver: str = ""
    incident_commander_email: str = ""
    resolver_email: str = ""


@dataclass(frozen=True)
class Receivers:
    """Secret values the alert receivers need. Never stored in a plan, shown, or logged."""

    slack_api_url: str = field(default="", repr=False)
    # The incident tool's Alertmanager source (its URL and bearer token) and its CloudWatch/SNS source.
    alertmanager_url: str = field(default="", repr=False)
    alertmanager_token: str = field(default="", repr=False)
    sns_url: str = field(default="", repr=False)


@dataclass(frozen=True)
class RouteSource:
    """A service whose header routes send requests to this one, as far as this one's authorization needs it: where
    the routed requests come from (the source's level's gateway, when exposed, or the source's own callers)."""

    service: str
    level: str = MESH
    mesh: bool = True
    allowed_callers: tuple[str, ...] = ()


# ServiceSpec and PlatformSpec fields left out of the copy stored with each plan.
SECRET_FIELDS = ("receivers",)
PLATFORM_SECRET_FIELDS = ("sre_receivers",)


@dataclass(frozen=True, kw_only=True)
class ServiceSpec(Basics):
    """One service as provisioning reads it: its document's sections, its team, who is on call, the secrets."""

    name: str
    team: TeamSpec
    revision: int = 1
    exposure: Exposure = Exposure()
    traffic: Traffic = Traffic()
    telemetry: Telemetry = Telemetry()
    oncall: OnCallPair = OnCallPair()
    # The services routing requests here (their header routes' target is this service), by name.
    routed_from: tuple[RouteSource, ...] = ()
    receivers: Receivers = field(default=Receivers(), repr=False, compare=False)

    @property
    def metrics_port(self) -> int:
        """The port Prometheus scrapes: the telemetry's own, or the service's."""
        return self.telemetry.metrics_port or self.port


@dataclass(frozen=True)
class PlatformSpec:
    """The platform's settings as the builders and the AWS clients read them."""

    cluster_name: str = "sandbox"
    region: str = "ap-northeast-1"
    kubernetes_target: str = "gitops"
    internal_zone: str = "internal.example.com"
    external_zone: str = "example.com"
    corp_cidrs: tuple[str, ...] = ("203.0.113.0/24",)
    # The NAT gateways' egress addresses: tools outside reach the internal ALB from them.
    nat_egress_cidrs: tuple[str, ...] = ()
    vpc_id: str = ""
    subnet_ids: tuple[str, ...] = ()
    node_security_group_id: str = ""
    create_load_balancers: bool = True
    waf_rate_limit: int = 2000
    # Outputs of the platform's shared AWS pieces (the inventory's): empty until the platform scope applied (or
    # observed) the piece.
    internal_zone_id: str = ""
    external_zone_id: str = ""
    external_alb_arn: str = ""
    external_alb_dns_name: str = ""
    external_alb_zone_id: str = ""
    external_listener_arn: str = ""
    external_web_acl_arn: str = ""
    internal_alb_arn: str = ""
    internal_alb_dns_name: str = ""
    internal_alb_zone_id: str = ""
    internal_listener_arn: str = ""
    internal_web_acl_arn: str = ""
    corp_ip_set_arn: str = ""
    external_target_group_arn: str = ""
    internal_target_group_arn: str = ""
    aws_account_id: str = ""
    ingress_namespace: str = "istio-ingress"
    istio_root_namespace: str = "istio-system"
    monitoring_namespace: str = "monitoring"
    otel_provider_name: str = "otel-tracing"
    otel_collector_endpoint: str = "opentelemetry-collector.observability.svc.cluster.local:4317"
    oauth2_proxy_url: str = "https://oauth2-proxy.internal.example.com"
    grafana_url: str = "https://grafana.internal.example.com"
    # VictoriaMetrics, the long-term store (seed §18-3): Prometheus writes there, Grafana reads there. Empty: off.
    victoriametrics_write_url: str = ""
    victoriametrics_query_url: str = ""
    control_plane_log_retention_days: int = 90
    platform_log_retention_days: int = 30
    portal_url: str = "http://127.0.0.1:8000"
    # From the portal's own sign-in settings: OAuth2 Proxy signs SREs in at the same identity provider.
    oidc_issuer: str = ""
    oidc_groups_claim: str = "groups"
    # The IdP's endpoints, for tools without OpenID Connect discovery (Grafana). Empty: Keycloak's layout under
    # the issuer (``<issuer>/protocol/openid-connect/auth``, ``/token``, ``/userinfo``).
    oidc_authorization_url: str = ""
    oidc_token_url: str = ""
    oidc_userinfo_url: str = ""
    sre_group: str = "platform-sre"
    # The slug of the team that runs the platform (a team like any other): its incident topic receives the
    # platform's own alarms, its receivers and its pair on call the cluster's alerts.
    sre_team: str = ""
    sre_slack_channel: str = ""
    # The keyed digest of the SRE team's CloudWatch/SNS source URL (``TeamSpec.incident_sns_fingerprint``).
    sre_incident_sns_fingerprint: str = ""
    sre_oncall: OnCallPair = OnCallPair()
    sre_receivers: Receivers = field(default=Receivers(), repr=False, compare=False)
    # Hostnames only SREs may give a service, besides those the platform serves itself (``reserved_hostnames``).
    reserved_hostnames: tuple[str, ...] = ()

    @property
    def allowed_cidrs(self) -> tuple[str, ...]:
        """Who may reach the internal ALB: the corp networks and the NAT gateways' egress addresses."""
        return (*self.corp_cidrs, *self.nat_egress_cidrs)

    def zone(self, level: str) -> str:
        return {INTERNAL: self.internal_zone, EXTERNAL: self.external_zone}[level]

    def zone_id(self, level: str) -> str:
        return {INTERNAL: self.internal_zone_id, EXTERNAL: self.external_zone_id}[level]

    def alb_dns_name(self, level: str) -> str:
        return {INTERNAL: self.internal_alb_dns_name, EXTERNAL: self.external_alb_dns_name}[level]

    def alb_zone_id(self, level: str) -> str:
        return {INTERNAL: self.internal_alb_zone_id, EXTERNAL: self.external_alb_zone_id}[level]

    def listener_arn(self, level: str) -> str:
        return {INTERNAL: self.internal_listener_arn, EXTERNAL: self.external_listener_arn}[level]

    def target_group_arn(self, level: str) -> str:
        return {INTERNAL: self.internal_target_group_arn, EXTERNAL: self.external_target_group_arn}[level]


# The consoles the platform layer serves under the internal zone, for SREs: OAuth2 Proxy's sign-in, and the
# monitoring tools behind it or behind their own sign-in.
PLATFORM_CONSOLES: tuple[str, ...] = ("oauth2-proxy", "prometheus", "alertmanager", "grafana", "kiali")


def _url_host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return ""


def reserved_hostnames(platform: PlatformSpec) -> dict[str, str]:
    """The hostnames only SREs may give a service, each with why: both zones' apexes, every host the platform
    layer serves (OAuth2 Proxy's sign-in, Grafana, the consoles under the internal zone) and the platform's own
    list. A team holding one of these would get its DNS record and certificate, and the platform's traffic."""
    reserved = dict.fromkeys(platform.reserved_hostnames, "it is on the platform's list of reserved hostnames")
    for console in PLATFORM_CONSOLES:
        reserved[f"{console}.{platform.internal_zone}"] = f"the platform serves its {console} console there"
    if grafana := _url_host(platform.grafana_url):
        reserved[grafana] = "it is Grafana's address (the platform's grafana_url)"
    if proxy := _url_host(platform.oauth2_proxy_url):
        reserved[proxy] = "it is OAuth2 Proxy's sign-in address (the platform's oauth2_proxy_url)"
    for level in EXPOSED_LEVELS:
        reserved[platform.zone(level)] = f"it is the apex of the platform's {level} zone"
    return {name.lower().rstrip("."): why for name, why in reserved.items() if name}


# --- as JSON ---------------------------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """Plain JSON data: dataclasses as objects, tuples as lists, numbers as the API writes them (a whole number
    without a fraction: 30, not 30.0)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def default_document(team: str = "") -> dict[str, Any]:
    """A new service's document with every default filled in: what a minimal registration stores."""
    return {
        "name": "",
        "team": team,
        **jsonable(Basics()),
        **{key: jsonable(section()) for key, section in SECTIONS.items()},
    }
