"""Catalog rows -> the frozen spec (``provisioning.spec``). The only place provisioning reads the catalog's rows.

Secrets are decrypted and fingerprinted here, so the builders get them as plain data and never import Django.
"""

from dataclasses import fields
from datetime import datetime

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from portal.catalog.models import PlatformSettings, Service
from portal.core.crypto import fingerprint
from portal.oncall.current import oncall_pair

from . import spec


def service_queryset() -> QuerySet[Service]:
    """Services with every row their spec reads, in a constant number of queries."""
    return Service.objects.select_related("team", "exposure", "traffic", "telemetry").prefetch_related(
        "exposure__hostnames", "exposure__routes__target", "traffic__allowed_callers"
    )


def platform_snapshot(settings_row: PlatformSettings | None = None) -> spec.PlatformSpec:
    row = settings_row or PlatformSettings.load()
    values = {f: getattr(row, f) for f in spec.PlatformSpec.__dataclass_fields__ if hasattr(row, f)}
    values["corp_cidrs"] = tuple(row.corp_cidrs)
    values["portal_url"] = settings.PORTAL_PUBLIC_URL
    values["oidc_issuer"] = settings.OIDC_ISSUER
    values["oidc_groups_claim"] = settings.OIDC_GROUPS_CLAIM
    values["sre_group"] = settings.PORTAL_SRE_GROUP
    return spec.PlatformSpec(**values)


def _number(value) -> float | None:
    return None if value is None else float(value)


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
    slack_api_url = (settings_row or PlatformSettings.load()).slack_webhook_url
    return spec.ServiceSpec(
        name=service.name,
        team=spec.TeamSpec(
            slug=team.slug,
            name=team.name,
            slack_channel=team.slack_channel,
            incident_webhook_fingerprint=fingerprint(team.incident_webhook_url),
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
        ),
        telemetry=_section(
            telemetry,
            spec.Telemetry,
            tracing_sampling_percent=float(telemetry.tracing_sampling_percent),
            slo=_slo(telemetry.slo),
        ),
        oncall=oncall if oncall is not None else oncall_pair(team, at),
        receivers=spec.Receivers(slack_api_url=slack_api_url, incident_webhook_url=team.incident_webhook_url),
    )


def load_service(name: str) -> spec.ServiceSpec:
    return service_snapshot(service_queryset().get(name=name))


def load_services(names: list[str]) -> dict[str, tuple[int, spec.ServiceSpec]]:
    """Many services frozen at one instant, read together: name -> (pk, spec). Missing names are left out."""
    row, at = PlatformSettings.load(), timezone.now()
    services = list(service_queryset().filter(name__in=names))
    pairs = {team_id: oncall_pair(team_id, at) for team_id in {s.team_id for s in services}}
    return {s.name: (s.pk, service_snapshot(s, at=at, settings_row=row, oncall=pairs[s.team_id])) for s in services}
