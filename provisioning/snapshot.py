"""Catalog rows -> frozen plain data. The only place provisioning reads the catalog's rows (and, for the
platform, what its shared AWS pieces reported to the inventory)."""

from dataclasses import dataclass, field, replace
from datetime import datetime

from django.utils import timezone

from portal.catalog.choices import ServiceState
from portal.catalog.models import PlatformSettings, Service, service_queryset
from portal.oncall.current import oncall_pair

from .aws.kinds import HOSTED_ZONE, IP_SET, LISTENER, LOAD_BALANCER, TARGET_GROUP, WEB_ACL
from .models import ManagedResource
from .names import (
    EXPOSED_LEVELS,
    alb_name,
    corp_ip_set_name,
    https_listener_name,
    target_group_name,
    web_acl_name,
)
from .resources import AWS
from .scopes import PLATFORM_KEY


@dataclass(frozen=True)
class PlatformSnapshot:
    """The platform settings, plus the outputs of its shared AWS pieces (``platform_outputs``)."""

    cluster_name: str = "sandbox"
    region: str = "ap-northeast-1"
    kubernetes_target: str = "gitops"
    internal_zone: str = "internal.example.com"
    external_zone: str = "example.com"
    corp_cidrs: tuple[str, ...] = ("203.0.113.0/24",)
    vpc_id: str = ""
    subnet_ids: tuple[str, ...] = ()
    node_security_group_id: str = ""
    create_load_balancers: bool = True
    waf_rate_limit: int = 2000
    # Outputs: empty until the platform scope applied (or observed) the piece.
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
    control_plane_log_retention_days: int = 90
    portal_url: str = "http://127.0.0.1:8000"
    # From the portal's own sign-in settings: OAuth2 Proxy signs SREs in at the same identity provider.
    oidc_issuer: str = ""
    oidc_groups_claim: str = "groups"
    sre_group: str = "platform-sre"

    def zone(self, level: str) -> str:
        return {"internal": self.internal_zone, "external": self.external_zone}[level]

    def zone_id(self, level: str) -> str:
        return {"internal": self.internal_zone_id, "external": self.external_zone_id}[level]

    def alb_dns_name(self, level: str) -> str:
        return {"internal": self.internal_alb_dns_name, "external": self.external_alb_dns_name}[level]

    def alb_zone_id(self, level: str) -> str:
        return {"internal": self.internal_alb_zone_id, "external": self.external_alb_zone_id}[level]

    def listener_arn(self, level: str) -> str:
        return {"internal": self.internal_listener_arn, "external": self.external_listener_arn}[level]

    def target_group_arn(self, level: str) -> str:
        return {"internal": self.internal_target_group_arn, "external": self.external_target_group_arn}[level]


@dataclass(frozen=True)
class TeamSnapshot:
    slug: str
    name: str
    slack_channel: str = ""
    has_incident_webhook: bool = False


@dataclass(frozen=True)
class Route:
    header: str
    match: str  # exact | prefix | regex
    value: str
    target: str  # service name
    target_port: int | None = None


@dataclass(frozen=True)
class Canary:
    version: str
    weight: int
    stable_version: str = "v1"


@dataclass(frozen=True)
class Retries:
    attempts: int
    retry_on: str
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


@dataclass(frozen=True)
class Slo:
    availability: float
    latency_p99_ms: int | None = None


@dataclass(frozen=True)
class OnCallPair:
    """Who holds each on-call role of the service's team when the snapshot was taken."""

    incident_commander: str = ""
    resolver: str = ""


@dataclass(frozen=True)
class Receivers:
    """Secret values the alert receivers need. Never stored in a plan, shown, or logged."""

    slack_api_url: str = field(default="", repr=False)
    incident_webhook_url: str = field(default="", repr=False)


# ServiceSnapshot fields left out of the copy stored with each plan.
SECRET_FIELDS = ("receivers",)


@dataclass(frozen=True)
class ServiceSnapshot:
    name: str
    team: TeamSnapshot
    description: str = ""
    lifecycle: str = "experimental"
    tier: int = 3
    port: int = 8080
    protocol: str = "http"
    mesh: bool = True
    revision: int = 1
    # exposure
    level: str = "mesh"
    hostnames: tuple[str, ...] = ()
    paths: tuple[str, ...] = ("/",)
    routes: tuple[Route, ...] = ()
    builtin_sso: bool = False
    # traffic
    load_balancer: str = "round_robin"
    hash_on: str = ""
    canary: Canary | None = None
    timeout_seconds: float | None = None
    retries: Retries | None = None
    outlier_detection: OutlierDetection | None = None
    connection_pool: ConnectionPool | None = None
    mtls: str = "STRICT"
    allowed_callers: tuple[str, ...] = ()
    # telemetry
    access_logging: bool = True
    log_retention_days: int = 30
    metrics_path: str = "/metrics"
    metrics_port: int = 8080
    scrape_interval_seconds: int = 30
    tracing_sampling_percent: float = 1.0
    dashboard: bool = False
    slo: Slo | None = None
    # alerting
    oncall: OnCallPair = OnCallPair()
    receivers: Receivers = field(default=Receivers(), repr=False, compare=False)


def _number(value) -> float | None:
    return None if value is None else float(value)


def output_fields(cluster: str, zones: dict[str, str], recorded: dict[tuple[str, str], dict]) -> dict[str, str]:
    """PlatformSnapshot fields from the outputs of the platform's AWS pieces, by (kind, name)."""

    def output(kind: str, name: str, key: str) -> str:
        return (recorded.get((kind, name)) or {}).get(key, "")

    values: dict[str, str] = {}
    for level in EXPOSED_LEVELS:
        alb = alb_name(cluster, level)
        values |= {
            f"{level}_zone_id": output(HOSTED_ZONE, zones[level], "zone_id"),
            f"{level}_alb_arn": output(LOAD_BALANCER, alb, "arn"),
            f"{level}_alb_dns_name": output(LOAD_BALANCER, alb, "dns_name"),
            f"{level}_alb_zone_id": output(LOAD_BALANCER, alb, "canonical_hosted_zone_id"),
            f"{level}_listener_arn": output(LISTENER, https_listener_name(cluster, level), "arn"),
            f"{level}_target_group_arn": output(TARGET_GROUP, target_group_name(cluster, level), "arn"),
            f"{level}_web_acl_arn": output(WEB_ACL, web_acl_name(cluster, level), "arn"),
        }
    values["corp_ip_set_arn"] = output(IP_SET, corp_ip_set_name(cluster), "arn")
    # The account is the one the load balancers live in (field 5 of an ARN).
    arns = [values[f"{level}_alb_arn"] for level in EXPOSED_LEVELS if values[f"{level}_alb_arn"]]
    values["aws_account_id"] = arns[0].split(":")[4] if arns else ""
    return values


def platform_outputs(settings_row: PlatformSettings | None = None) -> dict[str, str]:
    """What the platform scope's AWS pieces reported when last applied or observed (their inventory outputs): the
    zone ids, ALB ARNs and DNS names, listener, target group and web ACL ARNs and the account the services and the
    platform layer are built from. Empty values before the first platform apply."""
    row = settings_row or PlatformSettings.load()
    rows = ManagedResource.objects.filter(scope=PLATFORM_KEY, provider=AWS).values_list("kind", "name", "outputs")
    return output_fields(row.cluster_name, row.zones, {(kind, name): outputs for kind, name, outputs in rows})


def with_outputs(platform: PlatformSnapshot, observed: dict[tuple[str, str], dict]) -> PlatformSnapshot:
    """The snapshot with what the platform's AWS pieces were just observed to have, where the inventory had
    nothing (it lost track of them, or predates their recording)."""
    zones = {level: platform.zone(level) for level in EXPOSED_LEVELS}
    found = output_fields(platform.cluster_name, zones, observed)
    return replace(platform, **{k: v for k, v in found.items() if v and not getattr(platform, k)})


def platform_snapshot(settings_row: PlatformSettings | None = None) -> PlatformSnapshot:
    from django.conf import settings

    row = settings_row or PlatformSettings.load()
    values = {f: getattr(row, f) for f in PlatformSnapshot.__dataclass_fields__ if hasattr(row, f)}
    values |= platform_outputs(row)
    values["corp_cidrs"] = tuple(row.corp_cidrs)
    values["subnet_ids"] = tuple(row.subnet_ids)
    values["portal_url"] = settings.PORTAL_PUBLIC_URL
    values["oidc_issuer"] = settings.OIDC_ISSUER
    values["oidc_groups_claim"] = settings.OIDC_GROUPS_CLAIM
    values["sre_group"] = settings.PORTAL_SRE_GROUP
    return PlatformSnapshot(**values)


def service_snapshot(
    service: Service,
    *,
    at: datetime | None = None,
    settings_row: PlatformSettings | None = None,
    oncall: OnCallPair | None = None,
) -> ServiceSnapshot:
    """Freeze one service at instant ``at`` (default now); ``service`` should come from ``service_queryset()``.

    Pass ``settings_row`` when freezing many services, to read the platform settings once (and ``oncall``, the
    team's pair at ``at``, to read each team's schedule once).
    """
    exposure, traffic, telemetry, team = service.exposure, service.traffic, service.telemetry, service.team
    at = at or timezone.now()
    slack_api_url = (settings_row or PlatformSettings.load()).slack_webhook_url
    canary = traffic.canary
    retries = traffic.retries
    return ServiceSnapshot(
        name=service.name,
        team=TeamSnapshot(
            slug=team.slug,
            name=team.name,
            slack_channel=team.slack_channel,
            has_incident_webhook=bool(team.incident_webhook_url),
        ),
        description=service.description,
        lifecycle=service.lifecycle,
        tier=service.tier,
        port=service.port,
        protocol=service.protocol,
        mesh=service.mesh,
        revision=service.revision,
        level=exposure.level,
        hostnames=tuple(h.fqdn for h in exposure.hostnames.all()),
        paths=tuple(exposure.paths),
        routes=tuple(Route(r.header, r.match, r.value, r.target.name, r.target.port) for r in exposure.routes.all()),
        builtin_sso=exposure.builtin_sso,
        load_balancer=traffic.load_balancer,
        hash_on=traffic.hash_on,
        canary=Canary(**canary) if canary else None,
        timeout_seconds=_number(traffic.timeout_seconds),
        retries=Retries(
            attempts=retries["attempts"],
            retry_on=retries.get("retry_on") or "5xx,reset,connect-failure",
            per_try_timeout_seconds=_number(retries.get("per_try_timeout_seconds")),
        )
        if retries
        else None,
        outlier_detection=OutlierDetection(**traffic.outlier_detection) if traffic.outlier_detection else None,
        connection_pool=ConnectionPool(**traffic.connection_pool) if traffic.connection_pool else None,
        mtls=traffic.mtls,
        allowed_callers=tuple(sorted(s.name for s in traffic.allowed_callers.all())),
        access_logging=telemetry.access_logging,
        log_retention_days=telemetry.log_retention_days,
        metrics_path=telemetry.metrics_path,
        metrics_port=telemetry.metrics_port or service.port,
        scrape_interval_seconds=telemetry.scrape_interval_seconds,
        tracing_sampling_percent=float(telemetry.tracing_sampling_percent),
        dashboard=telemetry.dashboard,
        slo=Slo(availability=float(telemetry.slo["availability"]), latency_p99_ms=telemetry.slo.get("latency_p99_ms"))
        if telemetry.slo
        else None,
        oncall=oncall if oncall is not None else OnCallPair(*oncall_pair(team, at)),
        receivers=Receivers(slack_api_url=slack_api_url, incident_webhook_url=team.incident_webhook_url),
    )


def load_service(name: str) -> ServiceSnapshot:
    return service_snapshot(service_queryset().get(name=name))


def load_services(names: list[str]) -> dict[str, tuple[int, ServiceSnapshot]]:
    """Many services frozen at one instant, read together: name -> (pk, snapshot). Missing names are left out."""
    row, at = PlatformSettings.load(), timezone.now()
    services = list(service_queryset().filter(name__in=names))
    pairs = {team_id: OnCallPair(*oncall_pair(team_id, at)) for team_id in {s.team_id for s in services}}
    return {s.name: (s.pk, service_snapshot(s, at=at, settings_row=row, oncall=pairs[s.team_id])) for s in services}


# --- what the runs ask of the catalog besides a service's spec (provisioning reads the catalog nowhere else) ----


def service_id(name: str) -> int:
    """The catalog row's id of a service (runs, plans and the inventory point at it)."""
    return Service.objects.values_list("pk", flat=True).get(name=name)


def is_active(service: Service) -> bool:
    """Whether the service is in use (neither being deleted nor left over from a failed delete)."""
    return service.state == ServiceState.ACTIVE


def active_services() -> list[tuple[int, str]]:
    """Every active service as (id, name), by team, then name."""
    rows = Service.objects.filter(state=ServiceState.ACTIVE).order_by("team__slug", "name")
    return list(rows.values_list("pk", "name"))


def team_has_other_active_services(team: str, name: str) -> bool:
    """Whether team ``team`` has an active service besides ``name`` (its shared resources are still needed)."""
    return Service.objects.filter(team__slug=team, state=ServiceState.ACTIVE).exclude(name=name).exists()


def routed_from(service: Service) -> list[str]:
    """The services whose routes send requests to ``service``, by name."""
    return sorted(service.routed_from.values_list("exposure__service__name", flat=True))
