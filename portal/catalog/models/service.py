from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from provisioning import spec

from ..choices import (
    ExposureLevel,
    Lifecycle,
    LoadBalancer,
    LogRetention,
    MatchType,
    MtlsMode,
    Protocol,
    ServiceState,
)
from ..validators import validate_dns1123_label, validate_header_name, validate_hostname

PORT_VALIDATORS = [MinValueValidator(1), MaxValueValidator(65535)]


def _default_paths() -> list[str]:
    return list(spec.Exposure.paths)


class Service(models.Model):
    """A microservice registered by a team; its name is also its namespace."""

    name = models.CharField(max_length=63, unique=True, validators=[validate_dns1123_label])
    team = models.ForeignKey("catalog.Team", on_delete=models.PROTECT, related_name="services")
    description = models.TextField(blank=True)
    lifecycle = models.CharField(max_length=16, choices=Lifecycle.choices, default=spec.Basics.lifecycle)
    tier = models.PositiveSmallIntegerField(
        default=spec.Basics.tier,
        validators=[MinValueValidator(1), MaxValueValidator(4)],
        help_text="1 = most critical.",
    )
    port = models.PositiveIntegerField(default=spec.Basics.port, validators=PORT_VALIDATORS)
    protocol = models.CharField(max_length=8, choices=Protocol.choices, default=spec.Basics.protocol)
    mesh = models.BooleanField(default=spec.Basics.mesh, help_text="Inject the Istio sidecar (namespace label).")
    runbook_url = models.URLField(
        max_length=500,
        blank=True,
        help_text="Where the on-call engineer reads how to operate this service (linked from its alerts).",
    )
    state = models.CharField(max_length=16, choices=ServiceState.choices, default=ServiceState.ACTIVE)
    revision = models.PositiveIntegerField(default=1, editable=False, help_text="Bumped by every catalog edit.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The API document's catalog part (all but state, revision and times) as JSON text, written with each edit:
    # a page of 100 services reads it instead of four tables. Valid only while spec_revision == revision and
    # not blank; otherwise it is built from the tables again (and stored).
    spec_json = models.TextField(blank=True, default="", editable=False)
    spec_revision = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["team", "name"]),
            # Which services are active, read without their rows: the scorecards check theirs on every list.
            models.Index(fields=["state", "id"], name="catalog_service_state_id"),
        ]

    def __str__(self) -> str:
        return self.name


class Exposure(models.Model):
    """How far the service is reachable (seed §15, §16)."""

    service = models.OneToOneField(Service, on_delete=models.CASCADE, primary_key=True, related_name="exposure")
    level = models.CharField(max_length=10, choices=ExposureLevel.choices, default=spec.Exposure.level)
    paths = models.JSONField(default=_default_paths, help_text="Path prefixes routed to the service.")
    builtin_sso = models.BooleanField(
        default=spec.Exposure.builtin_sso,
        help_text="Outside the mesh: the tool signs people in itself, so no OAuth2 Proxy in front.",
    )

    def __str__(self) -> str:
        return f"{self.service_id}: {self.level}"


class Hostname(models.Model):
    """An FQDN of an exposed service; unique across the platform."""

    exposure = models.ForeignKey(Exposure, on_delete=models.CASCADE, related_name="hostnames")
    fqdn = models.CharField(max_length=253, unique=True, validators=[validate_hostname])
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["exposure", "position", "fqdn"]

    def __str__(self) -> str:
        return self.fqdn


class Route(models.Model):
    """Send matching requests to another service (seed §15 VirtualService (1)/(2))."""

    exposure = models.ForeignKey(Exposure, on_delete=models.CASCADE, related_name="routes")
    position = models.PositiveSmallIntegerField(default=0)
    header = models.CharField(max_length=100, validators=[validate_header_name])
    match = models.CharField(max_length=8, choices=MatchType.choices, default=MatchType.EXACT)
    value = models.CharField(max_length=500)
    target = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="routed_from")

    class Meta:
        ordering = ["exposure", "position"]

    def __str__(self) -> str:
        return f"{self.header} {self.match} {self.value!r} -> {self.target_id}"


class Traffic(models.Model):
    """Load balancing and resilience inside the mesh (seed §15), and the upstreams outside the cluster (§17).

    The nested settings (canary, retries, outlier detection, connection pool, external dependencies) are stored as the
    documents the API accepts; ``portal.catalog.api.serializers`` validates them.
    """

    service = models.OneToOneField(Service, on_delete=models.CASCADE, primary_key=True, related_name="traffic")
    load_balancer = models.CharField(max_length=16, choices=LoadBalancer.choices, default=spec.Traffic.load_balancer)
    hash_on = models.CharField(max_length=120, blank=True, help_text="source_ip, header:NAME or cookie:NAME.")
    canary = models.JSONField(null=True, blank=True, help_text='{"version": "v2", "weight": 10}')
    timeout_seconds = models.DecimalField(
        max_digits=7,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.001")), MaxValueValidator(3600)],
    )
    retries = models.JSONField(null=True, blank=True)
    outlier_detection = models.JSONField(null=True, blank=True)
    connection_pool = models.JSONField(null=True, blank=True)
    mtls = models.CharField(max_length=10, choices=MtlsMode.choices, default=spec.Traffic.mtls)
    allowed_callers = models.ManyToManyField(Service, blank=True, related_name="callable_by")
    external_dependencies = models.JSONField(
        default=list, blank=True, help_text="Upstreams outside the cluster the service calls (a list of documents)."
    )

    def __str__(self) -> str:
        return f"{self.service_id}: {self.load_balancer}"


class Telemetry(models.Model):
    """Logs, metrics, traces, dashboard and SLO (seed §18)."""

    service = models.OneToOneField(Service, on_delete=models.CASCADE, primary_key=True, related_name="telemetry")
    access_logging = models.BooleanField(default=spec.Telemetry.access_logging)
    log_retention_days = models.PositiveIntegerField(
        choices=LogRetention.choices, default=spec.Telemetry.log_retention_days
    )
    metrics_path = models.CharField(max_length=200, default=spec.Telemetry.metrics_path)
    metrics_port = models.PositiveIntegerField(
        null=True, blank=True, validators=PORT_VALIDATORS, help_text="Defaults to the service port."
    )
    scrape_interval_seconds = models.PositiveIntegerField(
        default=spec.Telemetry.scrape_interval_seconds, validators=[MinValueValidator(5), MaxValueValidator(3600)]
    )
    tracing_sampling_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal(str(spec.Telemetry.tracing_sampling_percent)),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    dashboard = models.BooleanField(default=spec.Telemetry.dashboard)
    slo = models.JSONField(null=True, blank=True, help_text='{"availability": 99.9, "latency_p99_ms": 300}')

    def __str__(self) -> str:
        return f"{self.service_id}: telemetry"


SERVICE_PREFETCH = (
    "exposure__hostnames",
    "exposure__routes__target",
    "traffic__allowed_callers",
)


def service_queryset() -> models.QuerySet:
    """Services with everything their document and their provisioning snapshot read, in a constant number of
    queries."""
    return Service.objects.select_related("team", "exposure", "traffic", "telemetry").prefetch_related(
        *SERVICE_PREFETCH
    )
