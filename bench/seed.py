"""Catalog rows in bulk, and an "already applied" state (objects in the cluster, resources in AWS, the inventory)
written through the engine's own backends, so a sweep starts from what a run would have left."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from django.db import connections, transaction
from django.utils import timezone

from .internals import (
    KUBERNETES,
    AwsBackend,
    Exposure,
    Hostname,
    ManagedResource,
    Membership,
    Resource,
    Scope,
    Service,
    Team,
    Telemetry,
    Traffic,
    User,
    kubernetes_backend,
    platform_snapshot,
    seal,
    service_scope,
)

WEBHOOK = "https://hooks.example.com/services/T0/B0/{team}"


def users() -> tuple[User, User]:
    """A team owner who registers and applies, and an SRE (another person) who approves."""
    owner, _ = User.objects.get_or_create(username="bench-owner")
    sre, _ = User.objects.get_or_create(username="bench-sre", defaults={"is_sre": True})
    return owner, sre


def teams(count: int, owner: User, prefix: str = "team-") -> list[Team]:
    """Teams ``<prefix>00`` .. (created when missing), with ``owner`` as an owner of each."""
    slugs = [f"{prefix}{i:02d}" for i in range(count)]
    existing = set(Team.objects.filter(slug__in=slugs).values_list("slug", flat=True))
    Team.objects.bulk_create(
        Team(
            slug=slug,
            name=slug.replace("-", " ").title(),
            slack_channel=f"#{slug}-alerts",
            incident_alertmanager_url=WEBHOOK.format(team=slug),
            incident_sns_url=WEBHOOK.format(team=slug),
            sso_group=slug,
        )
        for slug in slugs
        if slug not in existing
    )
    rows = list(Team.objects.filter(slug__in=slugs).order_by("slug"))
    Membership.objects.bulk_create([Membership(team=t, user=owner, role="owner") for t in rows], ignore_conflicts=True)
    return rows


def service_name(index: int) -> str:
    return f"svc-{index:05d}"


def services(start: int, count: int, team_rows: list[Team], internal_zone: str, exposed_every: int) -> list[str]:
    """Services ``svc-<start>`` .. in bulk (every ``exposed_every``-th internal with one hostname; a mix of
    SLOs, dashboards, retries and outlier detection), spread over the teams."""
    names = [service_name(i) for i in range(start, start + count)]
    with transaction.atomic():
        rows = Service.objects.bulk_create(
            Service(
                name=name,
                team=team_rows[i % len(team_rows)],
                description=f"Benchmark service {name}",
                lifecycle=("experimental", "production", "deprecated")[i % 3],
                tier=1 + i % 3,
                port=8080,
                protocol="grpc" if i % 7 == 3 else "http",
            )
            for i, name in zip(range(start, start + count), names, strict=True)
        )
        exposed = {row.pk for i, row in zip(range(start, start + count), rows, strict=True) if i % exposed_every == 0}
        Exposure.objects.bulk_create(
            Exposure(service=row, level="internal" if row.pk in exposed else "mesh", paths=["/"]) for row in rows
        )
        Hostname.objects.bulk_create(
            Hostname(exposure_id=row.pk, fqdn=f"{row.name}.{internal_zone}", position=0)
            for row in rows
            if row.pk in exposed
        )
        Traffic.objects.bulk_create(
            Traffic(
                service=row,
                load_balancer=("round_robin", "least_request", "random")[row.pk % 3],
                timeout_seconds=Decimal("5") if row.pk % 2 else None,
                retries={"attempts": 3, "per_try_timeout_seconds": 2, "retry_on": "5xx,reset"} if row.pk % 2 else None,
                # As the API stores it: every field, defaults included.
                outlier_detection={
                    "consecutive_5xx": 5,
                    "interval_seconds": 10,
                    "base_ejection_seconds": 30,
                    "max_ejection_percent": 50,
                }
                if row.pk % 3 == 0
                else None,
            )
            for row in rows
        )
        Telemetry.objects.bulk_create(
            Telemetry(
                service=row,
                dashboard=row.pk % 4 == 0,
                slo={"availability": 99.9, "latency_p99_ms": 300} if row.pk % 2 == 0 else None,
            )
            for row in rows
        )
    return names


# --- an applied state ---------------------------------------------------------------------------------------------


def applied_state(names: list[str], threads: int = 4) -> int:
    """Write every desired resource of these services to the target and AWS and record it, as an apply would.

    Returns the number of resources written.
    """
    platform = platform_snapshot()
    scopes = [service_scope(name, platform) for name in names]
    local = threading.local()

    def backends():
        if not hasattr(local, "kubernetes"):
            local.kubernetes = kubernetes_backend(platform.kubernetes_target)
            local.aws = AwsBackend(platform)
        return local.kubernetes, local.aws

    def write(scope: Scope) -> list[tuple[Scope, Resource, dict]]:
        kubernetes, aws = backends()
        aws.ctx.service = scope.snapshot["name"]
        done = []
        try:
            for resource in scope.desired:
                backend = kubernetes if resource.provider == KUBERNETES else aws
                done.append((scope, resource, backend.apply(resource) or {}))
        finally:
            connections.close_all()  # this thread's
        return done

    seen: set[str] = set()  # a team's topic is written once, by its first service
    for scope in scopes:
        scope.desired = [r for r in scope.desired if not r.owner or not (r.key in seen or seen.add(r.key))]
    with ThreadPoolExecutor(threads) as pool:
        written = [item for batch in pool.map(write, scopes) for item in batch]
    now = timezone.now()
    ManagedResource.objects.bulk_create(
        [
            ManagedResource(
                key=resource.key,
                scope=resource.owner or scope.key,
                service_id=None if resource.owner else scope.service_id,
                provider=resource.provider,
                api_version=resource.api_version,
                kind=resource.kind,
                namespace=resource.namespace,
                name=resource.name,
                external_id=(result.get("external_id", "") if resource.provider != KUBERNETES else "") or "",
                applied_digest=resource.digest,
                applied_body=seal(resource).body,
                sensitive=resource.sensitive,
                status="applied",
                drift=[],
                last_applied_at=now,
            )
            for scope, resource, result in written
        ],
        batch_size=500,
        ignore_conflicts=True,  # a team's topic B1 already applied and recorded
    )
    return len(written)
