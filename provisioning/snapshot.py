"""Catalog rows -> the frozen spec (``provisioning.spec``). The only place provisioning reads the catalog's rows
(and, for the platform, what its shared AWS pieces reported to the inventory).

Secrets are decrypted and fingerprinted here, so the builders get them as plain data and never import Django.
"""

from dataclasses import fields, replace
from datetime import datetime

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.catalog.choices import ServiceState
from portal.catalog.models import PlatformSettings, Route, Service, Team
from portal.core.crypto import fingerprint
from portal.oncall.current import oncall_pair
from portal.users.models import User

from . import spec
from .aws.kinds import HOSTED_ZONE, IP_SET, LISTENER, LOAD_BALANCER, TARGET_GROUP, WEB_ACL
from .models import ManagedResource
from .names import alb_name, corp_ip_set_name, https_listener_name, target_group_name, web_acl_name
from .resources import AWS
from .scopes import PLATFORM_KEY


def service_queryset() -> QuerySet[Service]:
    """Services with every row their spec reads, in a constant number of queries."""
    return Service.objects.select_related("team", "exposure", "traffic", "telemetry").prefetch_related(
        "exposure__hostnames",
        "exposure__routes__target",
        "traffic__allowed_callers",
        "routed_from__exposure__service__traffic__allowed_callers",
    )


def platform_snapshot(settings_row: PlatformSettings | None = None, *, outputs: bool = True) -> spec.PlatformSpec:
    """The platform's settings as the builders read them, with what its AWS pieces reported and the SRE team's
    alert receivers and pair on call now (unless ``outputs`` is false: then the settings alone, without reading the
    inventory, the SRE team or its schedule)."""
    row = settings_row or PlatformSettings.load()
    values = {f: getattr(row, f) for f in spec.PlatformSpec.__dataclass_fields__ if hasattr(row, f)}
    if outputs:
        values |= platform_outputs(row)
        values |= sre_routing(row)
    values["corp_cidrs"] = tuple(row.corp_cidrs)
    values["nat_egress_cidrs"] = tuple(row.nat_egress_cidrs)
    values["subnet_ids"] = tuple(row.subnet_ids)
    values["reserved_hostnames"] = tuple(row.reserved_hostnames)
    values["portal_url"] = settings.PORTAL_PUBLIC_URL
    values["oidc_issuer"] = settings.OIDC_ISSUER
    values["oidc_groups_claim"] = settings.OIDC_GROUPS_CLAIM
    values["oidc_authorization_url"] = settings.OIDC_AUTHORIZATION_URL
    values["oidc_token_url"] = settings.OIDC_TOKEN_URL
    values["oidc_userinfo_url"] = settings.OIDC_USERINFO_URL
    values["sre_group"] = settings.PORTAL_SRE_GROUP
    return spec.PlatformSpec(**values)


def sre_routing(row: PlatformSettings, at: datetime | None = None) -> dict:
    """The PlatformSpec fields of the SRE team's alert routing: its Slack channel, receivers and pair on call at
    ``at`` (default now); none without an SRE team (or when the named team is gone)."""
    team = Team.objects.filter(slug=row.sre_team).first() if row.sre_team else None
    if team is None:
        return {}
    return {
        "sre_slack_channel": team.slack_channel,
        "sre_incident_sns_fingerprint": fingerprint(team.incident_sns_url),
        "sre_oncall": oncall_snapshot(team, at or timezone.now()),
        "sre_receivers": receivers(team, row),
    }


def receivers(team: Team, row: PlatformSettings) -> spec.Receivers:
    """A team's alert receivers: the platform's Slack URL (Alertmanager posts to the team's channel through it) and
    the team's incident tool sources."""
    return spec.Receivers(
        slack_api_url=row.slack_webhook_url,
        alertmanager_url=team.incident_alertmanager_url,
        alertmanager_token=team.incident_alertmanager_token,
        sns_url=team.incident_sns_url,
    )


def _number(value) -> float | None:
    return None if value is None else float(value)


def output_fields(cluster: str, zones: dict[str, str], recorded: dict[tuple[str, str], dict]) -> dict[str, str]:
    """spec.PlatformSpec fields from the outputs of the platform's AWS pieces, by (kind, name)."""

    def output(kind: str, name: str, key: str) -> str:
        return (recorded.get((kind, name)) or {}).get(key, "")

    values: dict[str, str] = {}
    for level in spec.EXPOSED_LEVELS:
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
    arns = [values[f"{level}_alb_arn"] for level in spec.EXPOSED_LEVELS if values[f"{level}_alb_arn"]]
    values["aws_account_id"] = arns[0].split(":")[4] if arns else ""
    return values


def platform_outputs(settings_row: PlatformSettings | None = None) -> dict[str, str]:
    """What the platform scope's AWS pieces reported when last applied or observed (their inventory outputs): the
    zone ids, ALB ARNs and DNS names, listener, target group and web ACL ARNs and the account the services and the
    platform layer are built from. Empty values before the first platform apply."""
    row = settings_row or PlatformSettings.load()
    rows = ManagedResource.objects.filter(scope=PLATFORM_KEY, provider=AWS).values_list("kind", "name", "outputs")
    return output_fields(row.cluster_name, row.zones, {(kind, name): outputs for kind, name, outputs in rows})


def with_outputs(platform: spec.PlatformSpec, observed: dict[tuple[str, str], dict]) -> spec.PlatformSpec:
    """The snapshot with what the platform's AWS pieces were just observed to have, where the inventory had
    nothing (it lost track of them, or predates their recording)."""
    zones = {level: platform.zone(level) for level in spec.EXPOSED_LEVELS}
    found = output_fields(platform.cluster_name, zones, observed)
    return replace(platform, **{k: v for k, v in found.items() if v and not getattr(platform, k)})


def _retries(document: dict | None) -> spec.Retries | None:
    if not document:
        return None
    return spec.Retries(
        attempts=document["attempts"],
        retry_on=document.get("retry_on") or spec.Retries.retry_on,
        per_try_timeout_seconds=_number(document.get("per_try_timeout_seconds")),
    )


def _slo(document: dict | None) -> spec.Slo | None:
    if not document:
        return None
    return spec.Slo(availability=float(document["availability"]), latency_p99_ms=document.get("latency_p99_ms"))


def _section(row, section: type, **converted):
    """A section of the spec from its row: the columns of its fields' names, ``converted`` where they differ."""
    return section(**{f.name: getattr(row, f.name) for f in fields(section) if f.name not in converted}, **converted)


def service_snapshot(
    service: Service,
    *,
    at: datetime | None = None,
    settings_row: PlatformSettings | None = None,
    oncall: spec.OnCallPair | None = None,
) -> spec.ServiceSpec:
    """Freeze one service at instant ``at`` (default now); ``service`` should come from ``service_queryset()``.

    Pass ``settings_row`` when freezing many services, to read the platform settings once (and ``oncall``, the
    team's pair at ``at``, to read each team's schedule once).
    """
    exposure, traffic, telemetry, team = service.exposure, service.traffic, service.telemetry, service.team
    at = at or timezone.now()
    return spec.ServiceSpec(
        name=service.name,
        team=spec.TeamSpec(
            slug=team.slug,
            name=team.name,
            slack_channel=team.slack_channel,
            incident_sns_fingerprint=fingerprint(team.incident_sns_url),
        ),
        **{name: getattr(service, name) for name in spec.BASICS},
        revision=service.revision,
        exposure=_section(
            exposure,
            spec.Exposure,
            hostnames=tuple(h.fqdn for h in exposure.hostnames.all()),
            paths=tuple(exposure.paths),
            routes=tuple(
                spec.Route(r.header, r.match, r.value, r.target.name, r.target.port) for r in exposure.routes.all()
            ),
        ),
        traffic=_section(
            traffic,
            spec.Traffic,
            hash_on=traffic.hash_on or None,
            canary=spec.Canary(**traffic.canary) if traffic.canary else None,
            timeout_seconds=_number(traffic.timeout_seconds),
            retries=_retries(traffic.retries),
            outlier_detection=spec.OutlierDetection(**traffic.outlier_detection) if traffic.outlier_detection else None,
            connection_pool=spec.ConnectionPool(**traffic.connection_pool) if traffic.connection_pool else None,
            allowed_callers=tuple(sorted(s.name for s in traffic.allowed_callers.all())),
            external_dependencies=tuple(spec.ExternalDependency(**d) for d in traffic.external_dependencies or ()),
        ),
        telemetry=_section(
            telemetry,
            spec.Telemetry,
            tracing_sampling_percent=float(telemetry.tracing_sampling_percent),
            slo=_slo(telemetry.slo),
        ),
        oncall=oncall if oncall is not None else oncall_snapshot(team, at),
        routed_from=route_sources(service),
        receivers=receivers(team, settings_row or PlatformSettings.load()),
    )


def route_sources(service: Service) -> tuple[spec.RouteSource, ...]:
    """The services whose routes lead to ``service``, once each, by name: where their routed requests come from."""
    sources: dict[str, spec.RouteSource] = {}
    for route in service.routed_from.all():
        source, exposure = route.exposure.service, route.exposure
        callers = tuple(sorted(caller.name for caller in source.traffic.allowed_callers.all()))
        sources[source.name] = spec.RouteSource(source.name, exposure.level, source.mesh, callers)
    return tuple(sources[name] for name in sorted(sources))


def oncall_snapshot(team, at: datetime) -> spec.OnCallPair:
    """Who is on call for ``team`` (a row or its id) at ``at``, with their e-mail addresses."""
    pair = oncall_pair(team, at)
    emails = dict(User.objects.filter(username__in=[u for u in pair if u]).values_list("username", "email"))
    return spec.OnCallPair(
        incident_commander=pair.incident_commander,
        resolver=pair.resolver,
        incident_commander_email=emails.get(pair.incident_commander, ""),
        resolver_email=emails.get(pair.resolver, ""),
    )


def load_service(name: str) -> spec.ServiceSpec:
    return service_snapshot(service_queryset().get(name=name))


def load_services(names: list[str]) -> dict[str, tuple[int, spec.ServiceSpec]]:
    """Many services frozen at one instant, read together: name -> (pk, spec). Missing names are left out."""
    row, at = PlatformSettings.load(), timezone.now()
    services = list(service_queryset().filter(name__in=names))
    pairs = {team_id: oncall_snapshot(team_id, at) for team_id in {s.team_id for s in services}}
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


def team_keeps_shared_resources(team: str, name: str) -> bool:
    """Whether team ``team`` still needs its shared resources without ``name``: it has another active service, or
    it runs the platform (whose alarms notify its topic)."""
    if PlatformSettings.objects.filter(sre_team=team).exists():
        return True
    return Service.objects.filter(team__slug=team, state=ServiceState.ACTIVE).exclude(name=name).exists()


def route_neighbours(name: str) -> list[str]:
    """The active services that ``name`` routes requests to, and those whose routes send requests to it."""
    targets = Route.objects.filter(exposure__service__name=name).values_list("target__name", flat=True)
    sources = Route.objects.filter(target__name=name).values_list("exposure__service__name", flat=True)
    others = {*targets, *sources} - {name}
    rows = Service.objects.filter(name__in=others, state=ServiceState.ACTIVE).order_by("name")
    return list(rows.values_list("name", flat=True))


def recorded_aws_outputs() -> dict[tuple[str, str], dict]:
    """What AWS reported for every recorded AWS resource (ARNs, DNS names), by kind and name."""
    rows = ManagedResource.objects.filter(provider=AWS).exclude(outputs={}).values_list("kind", "name", "outputs")
    return {(kind, name): outputs for kind, name, outputs in rows}


def routed_from(service: Service) -> list[str]:
    """The services whose routes send requests to ``service``, by name."""
    return sorted(service.routed_from.values_list("exposure__service__name", flat=True))


def service_editor_ids(service_id: int, since_revision: int) -> set[int]:
    """Who registered or changed the service after ``since_revision`` (from the audit log, this service's records
    only, not an earlier one of the same name): the authors of what is not applied yet."""
    service = Service.objects.only("name", "created_at").get(pk=service_id)
    events = AuditEvent.objects.filter(
        object_type="service",
        object_key=service.name,
        action__in=["service.create", "service.update"],
        at__gte=service.created_at,
        actor__isnull=False,
    ).values_list("actor_id", "after")
    return {actor for actor, after in events if int((after or {}).get("revision") or 0) > since_revision}
