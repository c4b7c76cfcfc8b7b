"""Validation of everything a person can submit to the catalog, and how its objects are represented.

The web forms, the REST API and the admin all validate through these serializers, so a rule is written once and
every error names its field (nested for nested objects). Defaults come from ``provisioning.spec``; writes go
through ``portal.catalog.services``; a service is represented by its document (``portal.catalog.documents``).
"""

import re
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from portal.audit.context import current_request
from provisioning import spec

from .. import limits, services
from ..choices import ExposureLevel, LoadBalancer, LogRetention, MatchType, MembershipRole, MtlsMode, Protocol
from ..documents import current_document, service_documents
from ..groups import sso_group_problem
from ..models import Membership, PlatformSettings, Service, Team
from ..permissions import can_use_reserved_hostnames
from ..validators import (
    normalize_hostname,
    validate_dns1123_label,
    validate_external_host,
    validate_hash_on,
    validate_header_name,
    validate_hostname,
    validate_label_value,
    validate_link_url,
    validate_path_prefix,
    validate_regex,
    validate_retry_on,
)

User = get_user_model()

MESH_ONLY = "needs the service in the mesh (mesh: true)"


def _django_validator(func):
    """Run a Django validator and turn its error into a DRF one."""

    def run(value):
        try:
            func(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc

    return run


# --- Team ----------------------------------------------------------------------------------------


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["username", "role", "source"]
        read_only_fields = fields


class MembershipSerializer(serializers.ModelSerializer):
    """One member of a team: added by username, then only the role changes. The IdP's memberships are its own."""

    username = serializers.CharField(source="user.username", max_length=150)
    role = serializers.ChoiceField(choices=MembershipRole.choices, default=MembershipRole.MEMBER)

    class Meta:
        model = Membership
        fields = ["username", "role", "source", "created_at"]
        read_only_fields = ["source", "created_at"]

    def validate_username(self, value: str) -> str:
        if self.instance is not None:
            if value != self.instance.user.username:
                raise serializers.ValidationError("A membership's user cannot change; remove it and add the other.")
            return value
        team = self.context["team"]
        if not User.objects.filter(username=value, is_active=True).exists():
            raise serializers.ValidationError(f"No active user {value!r}; people appear after their first sign-in.")
        if team.memberships.filter(user__username=value).exists():
            raise serializers.ValidationError(f"{value} is already in team {team.slug}; change their role instead.")
        return value


def _secret_input(help_text: str) -> serializers.CharField:
    return serializers.CharField(
        required=False, allow_blank=True, write_only=True, style={"input_type": "password"}, help_text=help_text
    )


# What a bearer token may hold: printable ASCII without spaces (RFC 6750's b64token and more), so it can never
# break the Authorization header it is sent in.
BEARER_TOKEN = re.compile(r"^[\x21-\x7e]{1,4096}$")


class TeamSerializer(serializers.ModelSerializer):
    incident_alertmanager_url = _secret_input(
        "The incident tool's Alertmanager source (incident.io: alert source 'Alertmanager'): the HTTPS URL "
        "Alertmanager posts the team's critical alerts to. Write-only; read back masked."
    )
    incident_alertmanager_token = _secret_input(
        "The Alertmanager source's token, sent as 'Authorization: Bearer <token>'. Write-only; never read back."
    )
    incident_sns_url = _secret_input(
        "The incident tool's CloudWatch/SNS source (incident.io: alert source 'Amazon CloudWatch'): the HTTPS URL "
        "the team's SNS topic subscribes, where the AWS alarms arrive. Write-only; read back masked."
    )
    incident_webhook_url = _secret_input(
        "The former name of incident_alertmanager_url, still accepted (the two may not disagree)."
    )
    slack_webhook_url = _secret_input(
        "A Slack incoming-webhook URL of the team's channel: the portal posts failed runs, waiting approvals, drift "
        "and on-call hand-overs there. Write-only; read back masked."
    )
    incident_alertmanager_url_masked = serializers.CharField(source="incident_alertmanager_masked", read_only=True)
    incident_alertmanager_token_set = serializers.BooleanField(source="has_incident_alertmanager_token", read_only=True)
    incident_sns_url_masked = serializers.CharField(source="incident_sns_masked", read_only=True)
    incident_webhook_url_masked = serializers.CharField(
        source="incident_alertmanager_masked", read_only=True, help_text="incident_alertmanager_url_masked, as before."
    )
    slack_webhook_url_masked = serializers.CharField(source="slack_webhook_masked", read_only=True)
    members = MemberSerializer(source="memberships", many=True, read_only=True)

    class Meta:
        model = Team
        fields = [
            "slug",
            "name",
            "slack_channel",
            "incident_alertmanager_url",
            "incident_alertmanager_token",
            "incident_sns_url",
            "incident_webhook_url",
            "incident_alertmanager_url_masked",
            "incident_alertmanager_token_set",
            "incident_sns_url_masked",
            "incident_webhook_url_masked",
            "slack_webhook_url",
            "slack_webhook_url_masked",
            "sso_group",
            "members",
            "revision",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["revision", "created_at", "updated_at"]

    def _webhook(self, field: str, value: str) -> str:
        if value:
            _django_validator(Team._meta.get_field(field).run_validators)(value)
        return value

    def validate_incident_alertmanager_url(self, value: str) -> str:
        return self._webhook("incident_alertmanager_url", value)

    def validate_incident_sns_url(self, value: str) -> str:
        return self._webhook("incident_sns_url", value)

    def validate_incident_webhook_url(self, value: str) -> str:
        return self._webhook("incident_alertmanager_url", value)

    def validate_slack_webhook_url(self, value: str) -> str:
        return self._webhook("slack_webhook_url", value)

    def validate_incident_alertmanager_token(self, value: str) -> str:
        if value and not BEARER_TOKEN.match(value):
            raise serializers.ValidationError("A bearer token is 1 to 4096 printable ASCII characters without spaces.")
        return value

    def validate(self, attrs):
        legacy = attrs.pop("incident_webhook_url", None)
        if legacy is not None:
            if attrs.get("incident_alertmanager_url", legacy) != legacy:
                raise serializers.ValidationError(
                    {"incident_webhook_url": ["Give incident_alertmanager_url or its former name, not both."]}
                )
            attrs["incident_alertmanager_url"] = legacy
        url = attrs.get("incident_alertmanager_url", getattr(self.instance, "incident_alertmanager_url", ""))
        token = attrs.get("incident_alertmanager_token", getattr(self.instance, "incident_alertmanager_token", ""))
        if token and not url:
            raise serializers.ValidationError(
                {"incident_alertmanager_token": ["A token belongs to an Alertmanager source: set its URL too."]}
            )
        return attrs

    def validate_sso_group(self, value: str) -> str:
        if problem := sso_group_problem(value, self.instance, self.context.get("request")):
            raise serializers.ValidationError(problem)
        return value

    def validate_slug(self, value: str) -> str:
        if self.instance is not None and value != self.instance.slug:
            raise serializers.ValidationError("A team's slug cannot change; it names the team's resources.")
        return value


# --- Platform settings ------------------------------------------------------------------------------


class PlatformSettingsSerializer(serializers.ModelSerializer):
    slack_webhook_url = serializers.CharField(
        required=False, allow_blank=True, write_only=True, help_text="Write-only; read back masked."
    )
    slack_webhook_url_masked = serializers.CharField(source="slack_webhook_masked", read_only=True)
    corp_cidrs = serializers.ListField(child=serializers.CharField(max_length=49), min_length=1, max_length=100)
    nat_egress_cidrs = serializers.ListField(child=serializers.CharField(max_length=49), required=False, max_length=100)
    subnet_ids = serializers.ListField(child=serializers.CharField(max_length=64), required=False, max_length=20)
    reserved_hostnames = serializers.ListField(
        child=serializers.CharField(max_length=253),
        required=False,
        max_length=200,
        help_text=PlatformSettings._meta.get_field("reserved_hostnames").help_text,
    )
    outputs = serializers.SerializerMethodField(
        help_text="What AWS assigned to the platform's shared pieces (zone ids, ALB ARNs and DNS names, listener, "
        "target group, web ACL and IP set ARNs, the account), as the last platform apply or check found them. "
        "Read-only; empty before the first platform apply."
    )

    class Meta:
        model = PlatformSettings
        exclude = ["id"]
        read_only_fields = ["updated_at"]

    def validate_reserved_hostnames(self, values: list[str]) -> list[str]:
        return sorted({normalize_hostname(v) for v in values})

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
    def get_outputs(self, row) -> dict[str, str]:
        """Given by the view (``context["outputs"]``): the catalog does not read the inventory itself."""
        return self.context.get("outputs", {})

    def validate(self, attrs):
        # The model's own rules (CIDRs, distinct zones) on the row as it would be saved.
        candidate = PlatformSettings(**{**_field_values(self.instance), **attrs})
        try:
            candidate.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return attrs


def _field_values(instance) -> dict:
    if instance is None:
        return {}
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


# --- Service: nested documents -----------------------------------------------------------------------


class NamedBy(serializers.SlugRelatedField):
    """An object named by its slug. A value no slug can hold (a NUL character, which PostgreSQL refuses in text)
    names nothing: the field's own "does not exist", not a database error."""

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return super().to_internal_value(data)


class RouteSerializer(serializers.Serializer):
    """``{"header": "user-agent", "regex": ".*Mobile.*", "service": "payments-sp"}``"""

    header = serializers.CharField(max_length=100)
    exact = serializers.CharField(required=False, max_length=500)
    prefix = serializers.CharField(required=False, max_length=500)
    regex = serializers.CharField(required=False, max_length=500, validators=[_django_validator(validate_regex)])
    service = NamedBy(
        slug_field="name",
        queryset=Service.objects.all(),
        error_messages={
            "does_not_exist": "Service {value!r} does not exist; a route can only point at a registered service."
        },
    )

    def validate_header(self, value: str) -> str:
        value = value.strip().lower()
        _django_validator(validate_header_name)(value)
        return value

    def validate(self, attrs):
        given = [m for m in MatchType.values if m in attrs]
        if len(given) != 1:
            raise serializers.ValidationError(
                {"non_field_errors": ["Give exactly one of 'exact', 'prefix' or 'regex' for the header value."]}
            )
        return attrs


class ExposureSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=ExposureLevel.choices, default=spec.Exposure.level)
    hostnames = serializers.ListField(
        child=serializers.CharField(max_length=253),
        default=lambda: list(spec.Exposure.hostnames),
        max_length=limits.MAX_HOSTNAMES,
        error_messages=limits.at_most(limits.MAX_HOSTNAMES, "hostnames"),
    )
    paths = serializers.ListField(
        child=serializers.CharField(max_length=200, validators=[_django_validator(validate_path_prefix)]),
        default=lambda: list(spec.Exposure.paths),
        min_length=1,
        max_length=limits.MAX_PATHS,
        error_messages=limits.at_most(limits.MAX_PATHS, "path prefixes"),
    )
    routes = RouteSerializer(
        many=True,
        default=lambda: list(spec.Exposure.routes),
        max_length=limits.MAX_ROUTES,
        error_messages=limits.at_most(limits.MAX_ROUTES, "routes"),
    )
    builtin_sso = serializers.BooleanField(default=spec.Exposure.builtin_sso)

    def validate_hostnames(self, values: list[str]) -> list[str]:
        errors, seen = [], set()
        for value in values:
            try:
                validate_hostname(value)
            except DjangoValidationError as exc:
                errors.extend(exc.messages)
                continue
            name = normalize_hostname(value)
            if name in seen:
                errors.append(f"{value!r} is listed twice.")
            seen.add(name)
        if errors:
            raise serializers.ValidationError(errors)
        return [normalize_hostname(v) for v in values]

    def validate_paths(self, values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            raise serializers.ValidationError("A path prefix is listed twice.")
        return values


class CanarySerializer(serializers.Serializer):
    version = serializers.CharField(max_length=63, validators=[_django_validator(validate_label_value)])
    weight = serializers.IntegerField(min_value=1, max_value=99)
    stable_version = serializers.CharField(
        max_length=63, default=spec.Canary.stable_version, validators=[_django_validator(validate_label_value)]
    )

    def validate(self, attrs):
        if attrs["version"] == attrs["stable_version"]:
            raise serializers.ValidationError({"version": ["The canary version must differ from the stable one."]})
        return attrs


class RetriesSerializer(serializers.Serializer):
    attempts = serializers.IntegerField(min_value=0, max_value=10)
    per_try_timeout_seconds = serializers.DecimalField(
        max_digits=7,
        decimal_places=3,
        min_value=Decimal("0.001"),
        max_value=3600,
        required=False,
        allow_null=True,
        coerce_to_string=False,
    )
    retry_on = serializers.CharField(
        max_length=300, default=spec.Retries.retry_on, validators=[_django_validator(validate_retry_on)]
    )


class OutlierDetectionSerializer(serializers.Serializer):
    consecutive_5xx = serializers.IntegerField(min_value=1, max_value=1000)
    interval_seconds = serializers.IntegerField(
        min_value=1, max_value=3600, default=spec.OutlierDetection.interval_seconds
    )
    base_ejection_seconds = serializers.IntegerField(
        min_value=1, max_value=86400, default=spec.OutlierDetection.base_ejection_seconds
    )
    max_ejection_percent = serializers.IntegerField(
        min_value=1, max_value=100, default=spec.OutlierDetection.max_ejection_percent
    )


class ConnectionPoolSerializer(serializers.Serializer):
    max_connections = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False)
    http1_max_pending_requests = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False)
    http2_max_requests = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(
                {"non_field_errors": ["Set at least one limit, or send null for no connection pool limits."]}
            )
        return attrs


class ExternalDependencySerializer(serializers.Serializer):
    """``{"name": "orders-db", "host": "orders.cluster-x.ap-northeast-1.rds.amazonaws.com", "port": 3306,
    "protocol": "mysql", "tls": "application"}``: an upstream outside the cluster, reached through the sidecar."""

    name = serializers.CharField(
        max_length=50,
        validators=[_django_validator(validate_dns1123_label)],
        help_text="Names the objects rendered for it (external-<name>); unique in the service.",
    )
    host = serializers.CharField(max_length=253, validators=[_django_validator(validate_external_host)])
    port = serializers.IntegerField(min_value=1, max_value=65535)
    protocol = serializers.ChoiceField(
        choices=spec.DEPENDENCY_PROTOCOLS,
        default=spec.ExternalDependency.protocol,
        help_text="What the application speaks to it: http, tcp (anything else), mysql or postgresql.",
    )
    tls = serializers.ChoiceField(
        choices=spec.DEPENDENCY_TLS,
        default=spec.ExternalDependency.tls,
        help_text="sidecar: the application speaks plain text and the sidecar originates TLS; application: the "
        "application does TLS itself (always for mysql and postgresql, whose TLS starts inside the protocol).",
    )
    ca_secret = serializers.CharField(
        max_length=63,
        required=False,
        allow_blank=True,
        default=spec.ExternalDependency.ca_secret,
        validators=[_django_validator(validate_dns1123_label)],
        help_text="A Secret in the service's namespace with the CA bundle (key 'cacert' or 'ca.crt') the sidecar "
        "verifies the upstream with; empty: the sidecar's system CAs. Only with tls 'sidecar'.",
    )

    def validate_host(self, value: str) -> str:
        return normalize_hostname(value)

    def validate(self, attrs):
        errors = {}
        if attrs["protocol"] in spec.INNER_TLS_PROTOCOLS and attrs["tls"] != spec.TLS_BY_APPLICATION:
            errors["tls"] = [
                f"{attrs['protocol']} negotiates TLS inside its own protocol, which a sidecar cannot originate; "
                "use 'application' (the client connects with TLS and verifies the server's CA itself)."
            ]
        if attrs.get("ca_secret") and attrs["tls"] != spec.TLS_BY_SIDECAR:
            errors["ca_secret"] = [
                "The application verifies the upstream itself; give the CA bundle to its pods, not to the sidecar."
            ]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class TrafficSerializer(serializers.Serializer):
    load_balancer = serializers.ChoiceField(
        choices=LoadBalancer.choices,
        default=spec.Traffic.load_balancer,
        help_text="Istio has no 'least response time' balancer; least_request is the closest.",
    )
    hash_on = serializers.CharField(
        max_length=120,
        required=False,
        allow_null=True,
        allow_blank=True,
        default=spec.Traffic.hash_on,
        validators=[_django_validator(validate_hash_on)],
    )
    canary = CanarySerializer(required=False, allow_null=True, default=spec.Traffic.canary)
    timeout_seconds = serializers.DecimalField(
        max_digits=7,
        decimal_places=3,
        min_value=Decimal("0.001"),
        max_value=3600,
        required=False,
        allow_null=True,
        default=spec.Traffic.timeout_seconds,
        coerce_to_string=False,
    )
    retries = RetriesSerializer(required=False, allow_null=True, default=spec.Traffic.retries)
    outlier_detection = OutlierDetectionSerializer(
        required=False, allow_null=True, default=spec.Traffic.outlier_detection
    )
    connection_pool = ConnectionPoolSerializer(required=False, allow_null=True, default=spec.Traffic.connection_pool)
    mtls = serializers.ChoiceField(choices=MtlsMode.choices, default=spec.Traffic.mtls)
    allowed_callers = limits.BoundedManyRelatedField(
        child_relation=NamedBy(
            slug_field="name",
            queryset=Service.objects.all(),
            error_messages={"does_not_exist": "Service {value!r} does not exist."},
        ),
        default=lambda: list(spec.Traffic.allowed_callers),
        max_length=limits.MAX_ALLOWED_CALLERS,
        error_messages=limits.at_most(limits.MAX_ALLOWED_CALLERS, "allowed callers"),
    )
    external_dependencies = ExternalDependencySerializer(
        many=True,
        default=lambda: list(spec.Traffic.external_dependencies),
        max_length=limits.MAX_EXTERNAL_DEPENDENCIES,
        error_messages=limits.at_most(limits.MAX_EXTERNAL_DEPENDENCIES, "external dependencies"),
    )

    def validate_external_dependencies(self, values: list[dict]) -> list[dict]:
        names = [value["name"] for value in values]
        if twice := sorted({name for name in names if names.count(name) > 1}):
            raise serializers.ValidationError(f"Each dependency needs its own name; {', '.join(twice)} is used twice.")
        return values

    def validate(self, attrs):
        errors = {}
        lb, hash_on = attrs.get("load_balancer"), attrs.get("hash_on")
        if hash_on and lb != LoadBalancer.CONSISTENT_HASH:
            errors["hash_on"] = ["Only meaningful with load_balancer 'consistent_hash'."]
        if lb == LoadBalancer.CONSISTENT_HASH and not hash_on:
            errors["hash_on"] = ["consistent_hash needs hash_on: 'source_ip', 'header:NAME' or 'cookie:NAME'."]
        retries, timeout = attrs.get("retries"), attrs.get("timeout_seconds")
        per_try = (retries or {}).get("per_try_timeout_seconds")
        if per_try and timeout and per_try > timeout:
            errors["retries"] = {"per_try_timeout_seconds": ["Must not exceed timeout_seconds."]}
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class SloSerializer(serializers.Serializer):
    availability = serializers.DecimalField(
        max_digits=6,
        decimal_places=3,
        min_value=Decimal("90"),
        max_value=Decimal("99.999"),
        coerce_to_string=False,
        help_text="Percent of successful requests over 30 days, 90–99.999.",
    )
    latency_p99_ms = serializers.IntegerField(min_value=1, max_value=600_000, required=False, allow_null=True)


class TelemetrySerializer(serializers.Serializer):
    access_logging = serializers.BooleanField(default=spec.Telemetry.access_logging)
    log_retention_days = serializers.ChoiceField(
        choices=LogRetention.choices,
        default=spec.Telemetry.log_retention_days,
        error_messages={
            "invalid_choice": "{input} is not a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, "
            "30, 60, 90, … 3653 days)."
        },
    )
    metrics_path = serializers.CharField(
        max_length=200, default=spec.Telemetry.metrics_path, validators=[_django_validator(validate_path_prefix)]
    )
    metrics_port = serializers.IntegerField(
        min_value=1, max_value=65535, required=False, allow_null=True, default=spec.Telemetry.metrics_port
    )
    scrape_interval_seconds = serializers.IntegerField(
        min_value=5, max_value=3600, default=spec.Telemetry.scrape_interval_seconds
    )
    tracing_sampling_percent = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0"),
        max_value=Decimal("100"),
        default=Decimal(str(spec.Telemetry.tracing_sampling_percent)),
        coerce_to_string=False,
    )
    dashboard = serializers.BooleanField(default=spec.Telemetry.dashboard)
    slo = SloSerializer(required=False, allow_null=True, default=spec.Telemetry.slo)


# --- Service ---------------------------------------------------------------------------------------


class ServiceListSerializer(serializers.ListSerializer):
    """Many services' documents read together (``documents.service_documents``)."""

    def to_representation(self, data):
        return service_documents(list(data.all() if hasattr(data, "all") else data))


class ServiceTeamField(NamedBy):
    """A service's team by slug; the team it has already is not looked up again."""

    def to_internal_value(self, data):
        instance = getattr(self.parent, "instance", None)
        if isinstance(instance, Service) and data == instance.team.slug:
            return instance.team
        return super().to_internal_value(data)


class UniqueNewName(UniqueValidator):
    """Unique among services: asked of a name the service does not have already (its own name cannot change)."""

    def __call__(self, value, serializer_field):
        instance = getattr(serializer_field.parent, "instance", None)
        if isinstance(instance, Service) and value == instance.name:
            return
        super().__call__(value, serializer_field)


class ServiceSerializer(serializers.ModelSerializer):
    """A service with its exposure, traffic and telemetry, validated and represented as one document."""

    team = ServiceTeamField(
        slug_field="slug",
        queryset=Team.objects.all(),
        error_messages={"does_not_exist": "Team {value!r} does not exist."},
    )
    exposure = ExposureSerializer(required=False)
    traffic = TrafficSerializer(required=False)
    telemetry = TelemetrySerializer(required=False)

    class Meta:
        model = Service
        fields = ["name", "team", *spec.BASICS, *spec.SECTIONS, "state", "revision", "created_at", "updated_at"]
        list_serializer_class = ServiceListSerializer
        read_only_fields = ["state", "revision", "created_at", "updated_at"]
        extra_kwargs = {
            "description": {"max_length": limits.MAX_DESCRIPTION_LENGTH},
            "runbook_url": {"validators": [_django_validator(validate_link_url)]},
        }

    def get_fields(self):
        fields = super().get_fields()
        name = fields["name"]
        name.validators = [
            UniqueNewName(v.queryset, message=v.message, lookup=v.lookup) if type(v) is UniqueValidator else v
            for v in name.validators
        ]
        return fields

    # The nested defaults apply when a nested object is omitted altogether.
    def to_internal_value(self, data):
        if isinstance(data, dict):
            data = {**data}
            for key in spec.SECTIONS:
                if data.get(key) is None:
                    data[key] = {}
        return super().to_internal_value(data)

    def validate_name(self, value: str) -> str:
        if self.instance is not None and value != self.instance.name:
            raise serializers.ValidationError(
                "A service's name cannot change (it is its namespace); register a new service instead."
            )
        return value

    def validate(self, attrs):
        # A document is whole: an omitted basic field takes its default, also when it replaces another document.
        attrs = {**{name: getattr(spec.Basics, name) for name in spec.BASICS}, **attrs}
        name = attrs.get("name", getattr(self.instance, "name", None))
        mesh = attrs.get("mesh", spec.Basics.mesh)
        protocol = attrs.get("protocol", spec.Basics.protocol)
        exposure, traffic = attrs["exposure"], attrs["traffic"]
        errors: dict[str, dict] = {key: {} for key in spec.SECTIONS}

        level = exposure["level"]
        if level == ExposureLevel.EXTERNAL and not mesh:
            errors["exposure"]["level"] = [
                "'external' needs the service in the mesh; outside the mesh a service may only be "
                "'mesh' (cluster-internal) or 'internal'."
            ]
        if protocol == Protocol.TCP and level != ExposureLevel.MESH:
            errors["exposure"]["level"] = ["A TCP service cannot sit behind an ALB (HTTP only); use 'mesh'."]

        hostnames = exposure["hostnames"]
        if level == ExposureLevel.MESH and hostnames:
            errors["exposure"]["hostnames"] = ["A mesh-only service has no hostnames; choose 'internal' or 'external'."]
        elif level != ExposureLevel.MESH and not self._holds_hostnames(level, hostnames):
            platform = self.context.get("platform") or PlatformSettings.load()
            request = self.context.get("request") or current_request()
            may_reserve = can_use_reserved_hostnames(getattr(request, "user", None))
            host_errors = services.hostname_errors(hostnames, level, name, platform, may_reserve=may_reserve)
            if host_errors:
                errors["exposure"]["hostnames"] = host_errors

        routes = exposure["routes"]
        if routes:
            if protocol == Protocol.TCP:
                errors["exposure"]["routes"] = ["Header routes need HTTP or gRPC; a TCP service has no headers."]
            elif not mesh:
                errors["exposure"]["routes"] = [f"Header routes {MESH_ONLY}."]
            elif any(r["service"].name == name for r in routes):
                errors["exposure"]["routes"] = ["A route cannot point at the service itself."]
        if exposure["builtin_sso"] and (mesh or level != ExposureLevel.INTERNAL):
            errors["exposure"]["builtin_sso"] = ["Only meaningful for an 'internal' service outside the mesh."]

        callers = traffic["allowed_callers"]
        if any(c.name == name for c in callers):
            errors["traffic"]["allowed_callers"] = ["A service does not need to allow itself."]
        elif not_in_mesh := sorted(c.name for c in callers if not c.mesh):
            errors["traffic"]["allowed_callers"] = [
                f"{', '.join(not_in_mesh)}: outside the mesh, so it has no mTLS identity to allow."
            ]
        if not mesh:
            for field in ("canary", "retries", "outlier_detection", "connection_pool", "timeout_seconds"):
                if traffic.get(field) is not None:
                    errors["traffic"][field] = [f"{field} {MESH_ONLY}."]
            if traffic.get("external_dependencies"):
                errors["traffic"]["external_dependencies"] = [
                    f"External dependencies are reached through the sidecar: they {MESH_ONLY}."
                ]
            if callers:
                errors["traffic"]["allowed_callers"] = [f"allowed_callers {MESH_ONLY}."]
            if traffic["load_balancer"] != LoadBalancer.ROUND_ROBIN:
                errors["traffic"]["load_balancer"] = [
                    f"Choosing a load balancer {MESH_ONLY}; kube-proxy balances at random."
                ]
        if protocol == Protocol.TCP:
            for field in ("retries", "timeout_seconds"):
                if traffic.get(field) is not None:
                    errors["traffic"][field] = [f"{field} applies to HTTP and gRPC only."]
            if (traffic.get("hash_on") or "").startswith(("header:", "cookie:")):
                errors["traffic"]["hash_on"] = ["A TCP service can only hash on source_ip."]

        if attrs["telemetry"].get("slo") and (not mesh or protocol == Protocol.TCP):
            errors["telemetry"]["slo"] = [
                "An SLO is measured from the mesh's request metrics: it needs an HTTP or gRPC service in the mesh."
            ]

        errors = {k: v for k, v in errors.items() if v}
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def _holds_hostnames(self, level: str, hostnames: list[str]) -> bool:
        """Whether the service has these hostnames at this level already: they were checked when they were set,
        and an edit of something else does not check them again (nor could it take them from the service)."""
        if self.instance is None:
            return False
        held = current_document(self.instance)["exposure"]
        return held["level"] == level and held["hostnames"] == hostnames

    def to_representation(self, instance: Service):
        return current_document(instance)
