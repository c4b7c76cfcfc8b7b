"""The catalog's documents: validation of everything a person can submit, and the one write path.

The web forms, the REST API and the admin all validate through these serializers, so a rule is
written once and every error names its field (nested for nested objects).
"""

import json
from decimal import Decimal

import orjson
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import APIException

from portal.audit.context import current_request
from portal.audit.log import record
from portal.core.api import Fragments
from provisioning.queries import hostname_holders

from .. import limits
from ..choices import (
    ExposureLevel,
    LoadBalancer,
    LogRetention,
    MatchType,
    MembershipRole,
    MembershipSource,
    MtlsMode,
    Protocol,
)
from ..groups import sso_group_problem
from ..models import (
    Exposure,
    Hostname,
    Membership,
    PlatformSettings,
    Route,
    Service,
    Team,
    Telemetry,
    Traffic,
    service_queryset,
)
from ..validators import (
    normalize_hostname,
    validate_hash_on,
    validate_header_name,
    validate_hostname,
    validate_label_value,
    validate_path_prefix,
    validate_regex,
    validate_retry_on,
    zone_for,
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


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch: objects merge recursively, null removes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result[key] = None
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- Team ----------------------------------------------------------------------------------------


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["username", "role", "source"]
        read_only_fields = fields


class MembershipConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


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

    def validate(self, attrs):
        if self.instance is not None and "role" in attrs and (refusal := self.instance.change_refusal(attrs["role"])):
            raise MembershipConflict(refusal)
        return attrs

    def create(self, validated_data):
        user = User.objects.get(username=validated_data["user"]["username"])
        return Membership.objects.create(
            team=self.context["team"], user=user, role=validated_data["role"], source=MembershipSource.LOCAL
        )

    def update(self, instance, validated_data):
        instance.role = validated_data.get("role", instance.role)
        instance.save(update_fields=["role"])
        return instance


class TeamSerializer(serializers.ModelSerializer):
    incident_webhook_url = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        style={"input_type": "password"},
        help_text="HTTPS webhook of the incident tool. Write-only; read back masked.",
    )
    incident_webhook_url_masked = serializers.CharField(source="incident_webhook_masked", read_only=True)
    members = MemberSerializer(source="memberships", many=True, read_only=True)

    class Meta:
        model = Team
        fields = [
            "slug",
            "name",
            "slack_channel",
            "incident_webhook_url",
            "incident_webhook_url_masked",
            "sso_group",
            "members",
            "revision",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["revision", "created_at", "updated_at"]

    def validate_incident_webhook_url(self, value: str) -> str:
        if value:
            _django_validator(Team._meta.get_field("incident_webhook_url").run_validators)(value)
        return value

    def validate_sso_group(self, value: str) -> str:
        if problem := sso_group_problem(value, self.instance, self.context.get("request")):
            raise serializers.ValidationError(problem)
        return value

    def validate_slug(self, value: str) -> str:
        if self.instance is not None and value != self.instance.slug:
            raise serializers.ValidationError("A team's slug cannot change; it names the team's resources.")
        return value

    def update(self, instance, validated_data):
        instance.revision += 1
        return super().update(instance, validated_data)


# --- Platform settings ------------------------------------------------------------------------------


class PlatformSettingsSerializer(serializers.ModelSerializer):
    slack_webhook_url = serializers.CharField(
        required=False, allow_blank=True, write_only=True, help_text="Write-only; read back masked."
    )
    slack_webhook_url_masked = serializers.CharField(source="slack_webhook_masked", read_only=True)
    corp_cidrs = serializers.ListField(child=serializers.CharField(max_length=49), min_length=1, max_length=100)
    subnet_ids = serializers.ListField(child=serializers.CharField(max_length=64), required=False, max_length=20)
    outputs = serializers.SerializerMethodField(
        help_text="What AWS assigned to the platform's shared pieces (zone ids, ALB ARNs and DNS names, listener, "
        "target group, web ACL and IP set ARNs, the account), as the last platform apply or check found them. "
        "Read-only; empty before the first platform apply."
    )

    class Meta:
        model = PlatformSettings
        exclude = ["id"]
        read_only_fields = ["updated_at"]

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


class RouteSerializer(serializers.Serializer):
    """``{"header": "user-agent", "regex": ".*Mobile.*", "service": "payments-sp"}``"""

    header = serializers.CharField(max_length=100)
    exact = serializers.CharField(required=False, max_length=500)
    prefix = serializers.CharField(required=False, max_length=500)
    regex = serializers.CharField(required=False, max_length=500, validators=[_django_validator(validate_regex)])
    service = serializers.SlugRelatedField(
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
    level = serializers.ChoiceField(choices=ExposureLevel.choices, default=ExposureLevel.MESH)
    hostnames = serializers.ListField(
        child=serializers.CharField(max_length=253),
        default=list,
        max_length=limits.MAX_HOSTNAMES,
        error_messages=limits.at_most(limits.MAX_HOSTNAMES, "hostnames"),
    )
    paths = serializers.ListField(
        child=serializers.CharField(max_length=200, validators=[_django_validator(validate_path_prefix)]),
        default=lambda: ["/"],
        min_length=1,
        max_length=limits.MAX_PATHS,
        error_messages=limits.at_most(limits.MAX_PATHS, "path prefixes"),
    )
    routes = RouteSerializer(
        many=True,
        default=list,
        max_length=limits.MAX_ROUTES,
        error_messages=limits.at_most(limits.MAX_ROUTES, "routes"),
    )
    builtin_sso = serializers.BooleanField(default=False)

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
        max_length=63, default="v1", validators=[_django_validator(validate_label_value)]
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
        max_length=300, default="5xx,reset,connect-failure", validators=[_django_validator(validate_retry_on)]
    )


class OutlierDetectionSerializer(serializers.Serializer):
    consecutive_5xx = serializers.IntegerField(min_value=1, max_value=1000)
    interval_seconds = serializers.IntegerField(min_value=1, max_value=3600, default=10)
    base_ejection_seconds = serializers.IntegerField(min_value=1, max_value=86400, default=30)
    max_ejection_percent = serializers.IntegerField(min_value=1, max_value=100, default=50)


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


class TrafficSerializer(serializers.Serializer):
    load_balancer = serializers.ChoiceField(
        choices=LoadBalancer.choices,
        default=LoadBalancer.ROUND_ROBIN,
        help_text="Istio has no 'least response time' balancer; least_request is the closest.",
    )
    hash_on = serializers.CharField(
        max_length=120,
        required=False,
        allow_null=True,
        allow_blank=True,
        default=None,
        validators=[_django_validator(validate_hash_on)],
    )
    canary = CanarySerializer(required=False, allow_null=True, default=None)
    timeout_seconds = serializers.DecimalField(
        max_digits=7,
        decimal_places=3,
        min_value=Decimal("0.001"),
        max_value=3600,
        required=False,
        allow_null=True,
        default=None,
        coerce_to_string=False,
    )
    retries = RetriesSerializer(required=False, allow_null=True, default=None)
    outlier_detection = OutlierDetectionSerializer(required=False, allow_null=True, default=None)
    connection_pool = ConnectionPoolSerializer(required=False, allow_null=True, default=None)
    mtls = serializers.ChoiceField(choices=MtlsMode.choices, default=MtlsMode.STRICT)
    allowed_callers = limits.BoundedManyRelatedField(
        child_relation=serializers.SlugRelatedField(
            slug_field="name",
            queryset=Service.objects.all(),
            error_messages={"does_not_exist": "Service {value!r} does not exist."},
        ),
        default=list,
        max_length=limits.MAX_ALLOWED_CALLERS,
        error_messages=limits.at_most(limits.MAX_ALLOWED_CALLERS, "allowed callers"),
    )

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
    access_logging = serializers.BooleanField(default=True)
    log_retention_days = serializers.ChoiceField(
        choices=LogRetention.choices,
        default=30,
        error_messages={
            "invalid_choice": "{input} is not a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, "
            "30, 60, 90, … 3653 days)."
        },
    )
    metrics_path = serializers.CharField(
        max_length=200, default="/metrics", validators=[_django_validator(validate_path_prefix)]
    )
    metrics_port = serializers.IntegerField(min_value=1, max_value=65535, required=False, allow_null=True, default=None)
    scrape_interval_seconds = serializers.IntegerField(min_value=5, max_value=3600, default=30)
    tracing_sampling_percent = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0"),
        max_value=Decimal("100"),
        default=Decimal("1"),
        coerce_to_string=False,
    )
    dashboard = serializers.BooleanField(default=False)
    slo = SloSerializer(required=False, allow_null=True, default=None)


# --- Service ---------------------------------------------------------------------------------------


def _jsonable(value):
    """Nested documents are stored as JSON: decimals become plain numbers."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _datetime(value, tz=None) -> str:
    """As DRF's DateTimeField writes it (ISO 8601 in the current time zone, UTC as Z), at a fraction of its cost
    (which shows on a page of 100 services); ``tz``: the current time zone, when the caller has it already."""
    text = (value.astimezone(tz) if tz is not None else timezone.localtime(value)).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# A service's hostnames, routes (as documented) and allowed callers' names.
Related = tuple[list[str], list[dict], list[str]]


def page_relations(service_ids: list[int]) -> dict[int, Related]:
    """The to-many parts of many services' documents, one query each."""
    hostnames: dict[int, list[str]] = {pk: [] for pk in service_ids}
    routes: dict[int, list[dict]] = {pk: [] for pk in service_ids}
    callers: dict[int, list[str]] = {pk: [] for pk in service_ids}
    for exposure_id, fqdn in Hostname.objects.filter(exposure_id__in=service_ids).values_list("exposure_id", "fqdn"):
        hostnames[exposure_id].append(fqdn)
    rows = Route.objects.filter(exposure_id__in=service_ids).values_list(
        "exposure_id", "header", "match", "value", "target__name"
    )
    for exposure_id, header, match, value, target in rows:
        routes[exposure_id].append({"header": header, match: value, "service": target})
    through = Traffic.allowed_callers.through.objects.filter(traffic_id__in=service_ids)
    for traffic_id, name in through.values_list("traffic_id", "service__name"):
        callers[traffic_id].append(name)
    return {pk: (hostnames[pk], routes[pk], callers[pk]) for pk in service_ids}


class ServiceListSerializer(serializers.ListSerializer):
    """Many services' documents from flat rows (``service_list_queryset``) and their to-many parts read for all
    of them at once. On a page of 100, model instances and Django's prefetching (a related manager and a
    filtered queryset per object and relation) cost several times the queries themselves."""

    def to_representation(self, data):
        return service_documents(list(data.all() if hasattr(data, "all") else data))


# The document's keys that change without an edit, read from the service's own columns at each request; the
# rest is its stored spec, which ends with "created_at" (written once; the API speaks UTC).
LIVE_KEYS = ("state", "revision", "updated_at")
LIST_COLUMNS = ("pk", "spec_json", "spec_revision", *LIVE_KEYS)
CREATED_KEY = ',"created_at":'


def service_documents(services: list) -> list[dict]:
    """The documents of services given as instances or ``service_list_queryset`` rows: from their stored spec
    where it is current, else built from the tables (the to-many parts read at once) and stored for next time."""
    rows = [_list_row(s) for s in services]
    built = _build_stale(rows)
    tz = timezone.get_current_timezone()
    documents = []
    for row in rows:
        document = built.get(row["pk"])
        if document is None:
            document = json.loads(row["spec_json"])
            created = document.pop("created_at")
            document.update(
                state=row["state"],
                revision=row["revision"],
                created_at=created,
                updated_at=_datetime(row["updated_at"], tz),
            )
        documents.append(document)
    return documents


def service_fragments(services: list) -> Fragments:
    """The same documents as ready JSON (``orjson.Fragment``): a stored spec goes out as it is stored, its live
    keys spliced in, without being parsed and serialized again. Rendered by ``FragmentJSONRenderer``."""
    rows = [_list_row(s) for s in services]
    built = _build_stale(rows)
    tz = timezone.get_current_timezone()
    fragments = Fragments()
    for row in rows:
        document = built.get(row["pk"])
        if document is not None:
            fragments.append(orjson.Fragment(orjson.dumps(document)))
            continue
        spec = row["spec_json"]
        cut = spec.rfind(CREATED_KEY)
        state = orjson.dumps(row["state"]).decode()
        updated = _datetime(row["updated_at"], tz)
        text = f'{spec[:cut]},"state":{state},"revision":{row["revision"]:d}{spec[cut:-1]},"updated_at":"{updated}"}}'
        fragments.append(orjson.Fragment(text))
    return fragments


def _list_row(service) -> dict:
    return service if isinstance(service, dict) else {c: getattr(service, c) for c in LIST_COLUMNS}


def _build_stale(rows: list[dict]) -> dict[int, dict]:
    current = [row["spec_revision"] == row["revision"] and CREATED_KEY in row["spec_json"] for row in rows]
    stale = [row["pk"] for row, fresh in zip(rows, current, strict=True) if not fresh]
    return build_documents(stale) if stale else {}


def build_documents(service_ids: list[int]) -> dict[int, dict]:
    """Documents built from the tables (flat rows and one query per to-many relation), their specs stored in one
    UPDATE for the revision each was built from (a concurrent edit moves the revision on and wins)."""
    rows = list(Service.objects.filter(pk__in=service_ids).values(*DOCUMENT_LOOKUPS))
    related = page_relations([row["pk"] for row in rows])
    documents = {row["pk"]: service_document(row, related[row["pk"]]) for row in rows}
    if rows:
        current = [Q(pk=row["pk"], revision=row["revision"]) for row in rows]
        Service.objects.filter(pk__in=documents).update(
            spec_json=Case(
                *(When(c, then=Value(_spec(documents[row["pk"]]))) for c, row in zip(current, rows, strict=True)),
                default=F("spec_json"),
                output_field=models.TextField(),
            ),
            spec_revision=Case(
                *(When(c, then=Value(row["revision"])) for c, row in zip(current, rows, strict=True)),
                default=F("spec_revision"),
                output_field=models.PositiveIntegerField(),
            ),
        )
    return documents


def _spec(document: dict) -> str:
    spec = {k: v for k, v in document.items() if k not in LIVE_KEYS and k != "created_at"}
    spec["created_at"] = document["created_at"]  # last, where service_fragments splices the live keys in
    return orjson.dumps(spec).decode()


def store_spec(service_id: int, revision: int, document: dict) -> None:
    Service.objects.filter(pk=service_id, revision=revision).update(spec_json=_spec(document), spec_revision=revision)


def forget_specs(services) -> None:
    """Mark stored specs out of date (a related row changed outside the service serializer)."""
    Service.objects.filter(pk__in=services).exclude(spec_json="").update(spec_json="")


class ServiceSerializer(serializers.ModelSerializer):
    """A service with its exposure, traffic and telemetry, validated and written as one document."""

    team = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Team.objects.all(),
        error_messages={"does_not_exist": "Team {value!r} does not exist."},
    )
    exposure = ExposureSerializer(required=False)
    traffic = TrafficSerializer(required=False)
    telemetry = TelemetrySerializer(required=False)

    class Meta:
        model = Service
        fields = [
            "name",
            "team",
            "description",
            "lifecycle",
            "tier",
            "port",
            "protocol",
            "mesh",
            "exposure",
            "traffic",
            "telemetry",
            "state",
            "revision",
            "created_at",
            "updated_at",
        ]
        list_serializer_class = ServiceListSerializer
        read_only_fields = ["state", "revision", "created_at", "updated_at"]
        extra_kwargs = {"description": {"max_length": limits.MAX_DESCRIPTION_LENGTH}}

    # The nested defaults apply when a nested object is omitted altogether.
    def to_internal_value(self, data):
        if isinstance(data, dict):
            data = {**data}
            for key in ("exposure", "traffic", "telemetry"):
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
        platform = self.context.get("platform") or PlatformSettings.load()
        name = attrs.get("name", getattr(self.instance, "name", None))
        mesh = attrs.get("mesh", True)
        protocol = attrs.get("protocol", Protocol.HTTP)
        exposure, traffic = attrs["exposure"], attrs["traffic"]
        errors: dict[str, dict] = {"exposure": {}, "traffic": {}, "telemetry": {}}

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
        elif level != ExposureLevel.MESH:
            host_errors = self._hostname_errors(hostnames, level, platform, name)
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

    def _hostname_errors(self, hostnames, level, platform, name) -> list[str]:
        if not hostnames:
            return [f"An '{level}' service needs at least one hostname under {platform.zones[level]}."]
        errors = []
        zones = [platform.internal_zone, platform.external_zone]
        for host in hostnames:
            zone = zone_for(host, zones)
            if zone != platform.zones[level]:
                where = f"it belongs to the {zone} zone" if zone else "it is in neither platform zone"
                errors.append(f"{host!r} must lie under {platform.zones[level]} for '{level}'; {where}.")
        taken = Hostname.objects.filter(fqdn__in=hostnames).exclude(exposure__service__name=name)
        for owner in taken.select_related("exposure__service"):
            errors.append(f"{owner.fqdn!r} is already used by service {owner.exposure.service.name!r}.")
        claimed = {h.fqdn for h in taken}
        for host, holder in sorted(hostname_holders(hostnames, name).items()):
            if host not in claimed:
                errors.append(
                    f"{host!r} still has a DNS record or certificate in AWS for service {holder!r}; "
                    f"apply {holder!r} (or finish deleting it) before the name can move."
                )
        return errors

    # --- writing -----------------------------------------------------------------------------------

    @transaction.atomic
    def create(self, validated_data):
        nested = {k: validated_data.pop(k) for k in ("exposure", "traffic", "telemetry")}
        service = Service.objects.create(**validated_data)
        self._write_nested(service, nested, created=True)
        service = service_queryset().get(pk=service.pk)
        self._audit("service.create", service, None, self._store_spec(service))
        return service

    @transaction.atomic
    def update(self, instance, validated_data):
        before = ServiceSerializer(service_queryset().get(pk=instance.pk)).data
        nested = {k: validated_data.pop(k) for k in ("exposure", "traffic", "telemetry")}
        for field, value in validated_data.items():
            setattr(instance, field, value)
        instance.revision += 1
        instance.save()
        self._write_nested(instance, nested, created=False)
        service = service_queryset().get(pk=instance.pk)
        self._audit("service.update", service, before, self._store_spec(service))
        return service

    @staticmethod
    def _store_spec(service: Service) -> dict:
        """The written service's document; its spec is stored in the same transaction as the edit."""
        after = ServiceSerializer(service).data
        store_spec(service.pk, service.revision, after)
        return after

    def _audit(self, action: str, service: Service, before, after) -> None:
        for document in (before, after):
            if document:
                document.pop("updated_at", None)
        record(
            action,
            "service",
            service.name,
            actor=self.context.get("actor"),
            request=self.context.get("request") or current_request(),
            team=service.team.slug,
            before=before,
            after=after,
        )

    def _write_nested(self, service: Service, nested: dict, created: bool) -> None:
        exposure = dict(nested["exposure"])
        hostnames, routes = exposure.pop("hostnames"), exposure.pop("routes")
        exposure_row, _ = Exposure.objects.update_or_create(service=service, defaults=exposure)
        if not created:
            exposure_row.hostnames.all().delete()
            exposure_row.routes.all().delete()
        Hostname.objects.bulk_create(
            Hostname(exposure=exposure_row, fqdn=h, position=i) for i, h in enumerate(hostnames)
        )
        Route.objects.bulk_create(
            Route(
                exposure=exposure_row,
                position=i,
                header=r["header"],
                match=next(m for m in MatchType.values if m in r),
                value=next(r[m] for m in MatchType.values if m in r),
                target=r["service"],
            )
            for i, r in enumerate(routes)
        )

        traffic = dict(nested["traffic"])
        callers = traffic.pop("allowed_callers")
        traffic["hash_on"] = traffic.get("hash_on") or ""
        for key in ("canary", "retries", "outlier_detection", "connection_pool"):
            traffic[key] = _jsonable(traffic.get(key))
        traffic_row, _ = Traffic.objects.update_or_create(service=service, defaults=traffic)
        traffic_row.allowed_callers.set(callers)

        telemetry = dict(nested["telemetry"])
        telemetry["slo"] = _jsonable(telemetry.get("slo"))
        Telemetry.objects.update_or_create(service=service, defaults=telemetry)

    # --- reading -------------------------------------------------------------------------------------

    def to_representation(self, instance: Service):
        exposure, traffic = instance.exposure, instance.traffic
        related = (
            [h.fqdn for h in exposure.hostnames.all()],
            [{"header": r.header, r.match: r.value, "service": r.target.name} for r in exposure.routes.all()],
            [s.name for s in traffic.allowed_callers.all()],
        )
        return service_document(service_row(instance), related)


def _number(value):
    if value is None:
        return None
    return _jsonable(Decimal(value))


# What a service's document reads, as ORM lookups: a values() row of them, or the same read off an instance.
DOCUMENT_LOOKUPS = (
    "pk",
    "name",
    "team__slug",
    "description",
    "lifecycle",
    "tier",
    "port",
    "protocol",
    "mesh",
    "state",
    "revision",
    "created_at",
    "updated_at",
    "exposure__level",
    "exposure__paths",
    "exposure__builtin_sso",
    "traffic__load_balancer",
    "traffic__hash_on",
    "traffic__canary",
    "traffic__timeout_seconds",
    "traffic__retries",
    "traffic__outlier_detection",
    "traffic__connection_pool",
    "traffic__mtls",
    "telemetry__access_logging",
    "telemetry__log_retention_days",
    "telemetry__metrics_path",
    "telemetry__metrics_port",
    "telemetry__scrape_interval_seconds",
    "telemetry__tracing_sampling_percent",
    "telemetry__dashboard",
    "telemetry__slo",
)


def service_row(service: Service) -> dict:
    """An instance as the flat row ``service_document`` reads."""
    row = {}
    for lookup in DOCUMENT_LOOKUPS:
        value = service
        for part in lookup.split("__"):
            value = getattr(value, part)
        row[lookup] = value
    return row


def service_document(row: dict, related: Related) -> dict:
    """The API's document of a service (and the base of the web form's): one place for its shape."""
    hostnames, routes, callers = related
    return {
        "name": row["name"],
        "team": row["team__slug"],
        "description": row["description"],
        "lifecycle": row["lifecycle"],
        "tier": row["tier"],
        "port": row["port"],
        "protocol": row["protocol"],
        "mesh": row["mesh"],
        "exposure": {
            "level": row["exposure__level"],
            "hostnames": hostnames,
            "paths": list(row["exposure__paths"]),
            "routes": routes,
            "builtin_sso": row["exposure__builtin_sso"],
        },
        "traffic": {
            "load_balancer": row["traffic__load_balancer"],
            "hash_on": row["traffic__hash_on"] or None,
            "canary": row["traffic__canary"],
            "timeout_seconds": _number(row["traffic__timeout_seconds"]),
            "retries": row["traffic__retries"],
            "outlier_detection": row["traffic__outlier_detection"],
            "connection_pool": row["traffic__connection_pool"],
            "mtls": row["traffic__mtls"],
            "allowed_callers": sorted(callers),
        },
        "telemetry": {
            "access_logging": row["telemetry__access_logging"],
            "log_retention_days": row["telemetry__log_retention_days"],
            "metrics_path": row["telemetry__metrics_path"],
            "metrics_port": row["telemetry__metrics_port"],
            "scrape_interval_seconds": row["telemetry__scrape_interval_seconds"],
            "tracing_sampling_percent": _number(row["telemetry__tracing_sampling_percent"]),
            "dashboard": row["telemetry__dashboard"],
            "slo": row["telemetry__slo"],
        },
        "state": row["state"],
        "revision": row["revision"],
        "created_at": _datetime(row["created_at"]),
        "updated_at": _datetime(row["updated_at"]),
    }


def service_list_queryset():
    """Services as the rows a list of documents reads: their stored spec and own columns (``service_documents``)."""
    return Service.objects.values(*LIST_COLUMNS)
