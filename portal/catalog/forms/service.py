"""The service form in steps (basics → exposure → traffic → telemetry → review).

The Django forms here only draw the inputs: labels, widgets, help. They never validate. Every step turns
the whole form (all steps' values travel with each request) into the document the API accepts and runs
``ServiceSerializer`` on it; the step shows the errors of its own fields. So a rule lives in one place
and the web form, the API and automation agree on it. A new service starts from the spec's defaults
(``provisioning.spec.default_document``), the same the API fills in.
"""

import re
from dataclasses import dataclass

from django import forms

from provisioning import spec

from ..api.serializers import ServiceSerializer
from ..choices import ExposureLevel, Lifecycle, LoadBalancer, LogRetention, MatchType, MtlsMode, Protocol
from ..documents import validated_document
from ..models import Service

NO_LEAST_RESPONSE_TIME = (
    "Istio has no “least response time” balancer; “Least request” (fewest active requests) is the closest."
)


@dataclass(frozen=True)
class Step:
    slug: str
    title: str
    intro: str


STEPS = (
    Step("basics", "Basics", "Name the service, choose its team and how it speaks."),
    Step("exposure", "Exposure", "Who can reach the service: the mesh only, the company network, or the internet."),
    Step("traffic", "Traffic", "Load balancing and resilience inside the mesh."),
    Step("telemetry", "Telemetry", "Logs, metrics, traces, a dashboard and the SLO."),
    Step("review", "Review", "Check the whole service, then save it."),
)
STEP_SLUGS = tuple(s.slug for s in STEPS)

# Top-level document keys and the step that edits them: the basics on the first, each section on its own.
BASIC_KEYS = ("name", "team", *spec.BASICS)
STEP_OF_KEY = {**dict.fromkeys(BASIC_KEYS, "basics"), **{key: key for key in spec.SECTIONS}}

# Groups of optional settings, named in messages that concern the group as a whole.
GROUP_LABELS = {
    "traffic.canary": "Canary",
    "traffic.retries": "Retries",
    "traffic.outlier_detection": "Outlier detection",
    "traffic.connection_pool": "Connection pool",
    "telemetry.slo": "SLO",
}

TRUE = ("true", "on", "1", "yes")


def _bool(value) -> bool:
    return str(value).strip().lower() in TRUE


def _items(value: str) -> list[str]:
    """One item per line (commas and spaces separate too: none of these values may contain them)."""
    return [v for v in re.split(r"[\s,]+", value or "") if v]


def _text(**kwargs) -> forms.CharField:
    return forms.CharField(required=False, **kwargs)


def _number(**kwargs) -> forms.CharField:
    attrs = {"inputmode": "decimal"} | kwargs.pop("attrs", {})
    return forms.CharField(required=False, widget=forms.TextInput(attrs=attrs), **kwargs)


def _lines(rows: int = 3, **kwargs) -> forms.CharField:
    return forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": rows}), **kwargs)


def _choice(choices, radio: bool = False, **kwargs) -> forms.ChoiceField:
    return forms.ChoiceField(
        required=False, choices=choices, widget=forms.RadioSelect if radio else forms.Select, **kwargs
    )


def _check(**kwargs) -> forms.BooleanField:
    return forms.BooleanField(required=False, **kwargs)


class StepForm(forms.Form):
    """Fields of one step; ``doc_paths`` maps each field to its place in the document."""

    doc_paths: dict[str, str] = {}
    # How a field left empty enters the document: omitted (the serializer's default applies) or null.
    blank_omits: tuple[str, ...] = ()
    blank_nulls: tuple[str, ...] = ()
    booleans: tuple[str, ...] = ()


class BasicsForm(StepForm):
    name = _text(
        label="Name",
        help_text="Lower-case letters, digits and '-'; it is also the Kubernetes namespace. Cannot change later.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    team = _choice([], label="Team", help_text="The team that owns the service and receives its alerts.")
    description = _lines(rows=2, label="Description")
    lifecycle = _choice(Lifecycle.choices, label="Lifecycle")
    tier = _choice([(str(t), f"Tier {t}") for t in range(1, 5)], label="Tier", help_text="1 = most critical.")
    port = _number(label="Port", help_text="The port the containers listen on.", attrs={"inputmode": "numeric"})
    protocol = _choice(Protocol.choices, label="Protocol")
    mesh = _check(label="In the service mesh", help_text="Inject the Istio sidecar (mTLS, routing, telemetry).")
    runbook_url = _text(
        label="Runbook URL",
        help_text="An http(s) address of how to operate the service; its alerts link to it. Optional.",
        widget=forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    doc_paths = {k: k for k in BASIC_KEYS}
    booleans = ("mesh",)

    def __init__(self, *args, teams: list[tuple[str, str]] = (), editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = list(teams)
        if editing:
            self.fields["name"].widget.attrs["readonly"] = True
            self.fields["name"].help_text = "A service's name is its namespace and cannot change."


ROUTE_FIELDS = ("header", "match", "value", "service")


class ExposureForm(StepForm):
    level = _choice(ExposureLevel.choices, radio=True, label="Exposure level")
    hostnames = _lines(
        label="Hostnames",
        help_text="One per line, under the internal zone for 'internal' and the external zone for 'external'. "
        "No wildcards. Leave empty for mesh-only services.",
    )
    paths = _lines(rows=2, label="Path prefixes", help_text="One per line; '/' sends every path to the service.")
    builtin_sso = _check(
        label="The tool signs people in itself",
        help_text="Only for an internal service outside the mesh: no OAuth2 Proxy in front of it.",
    )

    doc_paths = {
        "level": "exposure.level",
        "hostnames": "exposure.hostnames",
        "paths": "exposure.paths",
        "builtin_sso": "exposure.builtin_sso",
    }
    blank_omits = ("paths",)
    booleans = ("builtin_sso",)

    def __init__(self, *args, route_rows: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        self.doc_paths = dict(self.doc_paths)
        self.route_rows = route_rows
        for i in range(route_rows):
            n = i + 1
            self.fields[f"routes-{i}-header"] = _text(label=f"Route {n}: header", help_text="e.g. user-agent")
            self.fields[f"routes-{i}-match"] = _choice(MatchType.choices, label=f"Route {n}: the value")
            self.fields[f"routes-{i}-value"] = _text(label=f"Route {n}: value", help_text="e.g. .*Mobile.*")
            self.fields[f"routes-{i}-service"] = _text(label=f"Route {n}: send to service")
            self.doc_paths |= {
                f"routes-{i}-header": f"exposure.routes.{i}.header",
                f"routes-{i}-value": f"exposure.routes.{i}.value",
                f"routes-{i}-service": f"exposure.routes.{i}.service",
                f"routes-{i}-match": f"exposure.routes.{i}.match",
            }

    def route_fields(self) -> list[list[forms.BoundField]]:
        return [[self[f"routes-{i}-{f}"] for f in ROUTE_FIELDS] for i in range(self.route_rows)]


class TrafficForm(StepForm):
    load_balancer = _choice(LoadBalancer.choices, radio=True, label="Load balancer", help_text=NO_LEAST_RESPONSE_TIME)
    hash_on = _text(
        label="Hash on",
        help_text="Only with consistent hash: 'source_ip', 'header:NAME' or 'cookie:NAME'.",
    )
    canary_version = _text(label="Canary version", help_text="The pods' 'version' label of the canary, e.g. v2.")
    canary_weight = _number(label="Canary weight (%)", help_text="Share of requests for the canary, 1–99.")
    canary_stable_version = _text(label="Stable version", help_text="Defaults to v1.")
    timeout_seconds = _number(label="Request timeout (seconds)", help_text="Empty: no timeout.")
    retries_attempts = _number(label="Retry attempts", help_text="Empty: Istio's default retries.")
    retries_per_try_timeout_seconds = _number(label="Timeout per try (seconds)")
    retries_retry_on = _text(label="Retry on", help_text="e.g. 5xx,reset,connect-failure")
    outlier_consecutive_5xx = _number(label="Eject after consecutive 5xx", help_text="Empty: no outlier detection.")
    outlier_interval_seconds = _number(label="Check interval (seconds)")
    outlier_base_ejection_seconds = _number(label="Base ejection time (seconds)")
    outlier_max_ejection_percent = _number(label="Max ejected hosts (%)")
    pool_max_connections = _number(label="Max TCP connections", help_text="Empty: no limit.")
    pool_http1_max_pending_requests = _number(label="Max pending HTTP/1 requests")
    pool_http2_max_requests = _number(label="Max HTTP/2 requests")
    mtls = _choice(MtlsMode.choices, label="mTLS")
    allowed_callers = _text(
        label="Allowed callers",
        help_text="Services that may call this one, separated by commas. Empty: any service in the mesh.",
    )
    external_dependencies = _lines(
        label="External dependencies",
        help_text="Upstreams outside the cluster, one per line: NAME HOST:PORT [PROTOCOL] [tls=sidecar|application] "
        "[ca=SECRET], e.g. 'orders-db orders.cluster-x.ap-northeast-1.rds.amazonaws.com:3306 mysql "
        "tls=application'. PROTOCOL is http, tcp (default), mysql or postgresql.",
    )

    doc_paths = {
        "load_balancer": "traffic.load_balancer",
        "hash_on": "traffic.hash_on",
        "canary_version": "traffic.canary.version",
        "canary_weight": "traffic.canary.weight",
        "canary_stable_version": "traffic.canary.stable_version",
        "timeout_seconds": "traffic.timeout_seconds",
        "retries_attempts": "traffic.retries.attempts",
        "retries_per_try_timeout_seconds": "traffic.retries.per_try_timeout_seconds",
        "retries_retry_on": "traffic.retries.retry_on",
        "outlier_consecutive_5xx": "traffic.outlier_detection.consecutive_5xx",
        "outlier_interval_seconds": "traffic.outlier_detection.interval_seconds",
        "outlier_base_ejection_seconds": "traffic.outlier_detection.base_ejection_seconds",
        "outlier_max_ejection_percent": "traffic.outlier_detection.max_ejection_percent",
        "pool_max_connections": "traffic.connection_pool.max_connections",
        "pool_http1_max_pending_requests": "traffic.connection_pool.http1_max_pending_requests",
        "pool_http2_max_requests": "traffic.connection_pool.http2_max_requests",
        "mtls": "traffic.mtls",
        "allowed_callers": "traffic.allowed_callers",
        "external_dependencies": "traffic.external_dependencies",
    }
    blank_nulls = ("hash_on", "timeout_seconds")
    # Groups: all fields empty = the group is off (null); otherwise the filled fields are sent.
    groups = {
        "canary": ("canary_version", "canary_weight", "canary_stable_version"),
        "retries": ("retries_attempts", "retries_per_try_timeout_seconds", "retries_retry_on"),
        "outlier_detection": (
            "outlier_consecutive_5xx",
            "outlier_interval_seconds",
            "outlier_base_ejection_seconds",
            "outlier_max_ejection_percent",
        ),
        "connection_pool": ("pool_max_connections", "pool_http1_max_pending_requests", "pool_http2_max_requests"),
    }
    fieldsets = (
        ("Balancing", ("load_balancer", "hash_on")),
        ("Canary (weighted round robin)", groups["canary"]),
        ("Timeouts and retries", ("timeout_seconds", *groups["retries"])),
        ("Outlier detection", groups["outlier_detection"]),
        ("Connection pool", groups["connection_pool"]),
        ("Security", ("mtls", "allowed_callers")),
        ("Outside the cluster", ("external_dependencies",)),
    )


class TelemetryForm(StepForm):
    access_logging = _check(label="Access logging", help_text="The sidecar logs every request (JSON).")
    log_retention_days = _choice(
        [(str(v), label) for v, label in LogRetention.choices],
        label="Log retention",
        help_text="Values CloudWatch Logs accepts.",
    )
    metrics_path = _text(label="Metrics path")
    metrics_port = _number(label="Metrics port", help_text="Empty: the service port.")
    scrape_interval_seconds = _number(label="Scrape interval (seconds)", help_text="5–3600.")
    tracing_sampling_percent = _number(label="Trace sampling (%)", help_text="0–100.")
    dashboard = _check(label="Grafana dashboard")
    slo_availability = _number(label="SLO: availability (%)", help_text="e.g. 99.9. Empty: no SLO.")
    slo_latency_p99_ms = _number(label="SLO: p99 latency (ms)", help_text="Optional.")

    doc_paths = {
        "access_logging": "telemetry.access_logging",
        "log_retention_days": "telemetry.log_retention_days",
        "metrics_path": "telemetry.metrics_path",
        "metrics_port": "telemetry.metrics_port",
        "scrape_interval_seconds": "telemetry.scrape_interval_seconds",
        "tracing_sampling_percent": "telemetry.tracing_sampling_percent",
        "dashboard": "telemetry.dashboard",
        "slo_availability": "telemetry.slo.availability",
        "slo_latency_p99_ms": "telemetry.slo.latency_p99_ms",
    }
    blank_nulls = ("metrics_port",)
    booleans = ("access_logging", "dashboard")


STEP_FORMS: dict[str, type[StepForm]] = {
    "basics": BasicsForm,
    "exposure": ExposureForm,
    "traffic": TrafficForm,
    "telemetry": TelemetryForm,
}


# --- document <-> flat form values ------------------------------------------------------------------

DEPENDENCY_OPTIONS = {"tls": "tls", "ca": "ca_secret"}


def dependency_line(dependency: dict) -> str:
    """One external dependency as a line of the form's text area."""
    words = [dependency.get("name", ""), f"{dependency.get('host', '')}:{dependency.get('port', '')}"]
    words.append(dependency.get("protocol") or spec.ExternalDependency.protocol)
    words.append(f"tls={dependency.get('tls') or spec.ExternalDependency.tls}")
    if dependency.get("ca_secret"):
        words.append(f"ca={dependency['ca_secret']}")
    return " ".join(words)


def dependency_from_line(line: str) -> dict:
    """A line of the text area as the document's dependency; what does not parse is passed on as written, for the
    serializer to name (a port that is no number, an unknown option)."""
    words = line.split()
    dependency: dict = {"name": words[0] if words else ""}
    if len(words) > 1:
        host, colon, port = words[1].rpartition(":")
        dependency |= {"host": host, "port": port} if colon else {"host": words[1], "port": ""}
    for word in words[2:]:
        key, equals, value = word.partition("=")
        if equals and key in DEPENDENCY_OPTIONS:
            dependency[DEPENDENCY_OPTIONS[key]] = value
        else:
            dependency["protocol"] = word
    return dependency


def _flat_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def flat_from_document(document: dict) -> dict[str, str]:
    """The document as the form's flat values (every step's fields)."""
    flat: dict[str, str] = {}
    for form_class in STEP_FORMS.values():
        for name, path in form_class.doc_paths.items():
            value = _lookup(document, path)
            flat[name] = "\n".join(map(str, value)) if isinstance(value, list) else _flat_value(value)
    flat["allowed_callers"] = ", ".join((document.get("traffic") or {}).get("allowed_callers") or [])
    dependencies = (document.get("traffic") or {}).get("external_dependencies") or []
    flat["external_dependencies"] = "\n".join(dependency_line(d) for d in dependencies)
    routes = (document.get("exposure") or {}).get("routes") or []
    for i, route in enumerate(routes):
        match = next((m for m in MatchType.values if m in route), MatchType.EXACT)
        flat |= {
            f"routes-{i}-header": route.get("header", ""),
            f"routes-{i}-match": match,
            f"routes-{i}-value": str(route.get(match, "")),
            f"routes-{i}-service": route.get("service", ""),
        }
    flat["route_rows"] = str(len(routes) + 1)
    return flat


def _lookup(document: dict, path: str):
    value = document
    for key in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def normalize(data, *, add_route: bool = False) -> dict[str, str]:
    """Posted values -> flat values: checkboxes as true/false, route rows compacted (empty rows dropped)."""
    # Browsers send line breaks as CRLF; the document keeps plain LF.
    flat = {key: data.get(key, "").replace("\r\n", "\n") for key in data if not key.startswith("routes-")}
    for form_class in STEP_FORMS.values():
        for name in form_class.booleans:
            flat[name] = "true" if _bool(data.get(name)) else "false"
    rows = []
    indexes = sorted({int(m.group(1)) for key in data if (m := re.match(r"^routes-(\d+)-", key))})
    for i in indexes:
        row = {f: data.get(f"routes-{i}-{f}", "").strip() for f in ROUTE_FIELDS}
        if row["header"] or row["value"] or row["service"]:
            rows.append(row)
    for i, row in enumerate(rows):
        flat |= {f"routes-{i}-{f}": v for f, v in row.items()}
    flat["route_rows"] = str(len(rows) + 1 + (1 if add_route else 0))
    flat.pop("csrfmiddlewaretoken", None)
    flat.pop("action", None)
    return flat


def document_from_flat(flat: dict[str, str]) -> dict:
    """The flat form values as the document ``ServiceSerializer`` validates."""

    def text(name: str) -> str:
        return (flat.get(name) or "").strip()

    def section(form_class: type[StepForm], key: str) -> dict:
        out: dict = {}
        for name, path in form_class.doc_paths.items():
            parts = path.split(".")
            if parts[0] != key or len(parts) != 2:
                continue
            if name in form_class.booleans:
                out[parts[1]] = _bool(flat.get(name))
            elif text(name) == "" and name in form_class.blank_omits:
                continue
            elif text(name) == "" and name in form_class.blank_nulls:
                out[parts[1]] = None
            else:
                out[parts[1]] = text(name)
        return out

    def group(form_class: type[StepForm], names: tuple[str, ...]) -> dict | None:
        values = {form_class.doc_paths[n].rsplit(".", 1)[1]: text(n) for n in names if text(n)}
        return values or None

    exposure = section(ExposureForm, "exposure")
    exposure["hostnames"] = _items(flat.get("hostnames", ""))
    if "paths" in exposure:
        exposure["paths"] = _items(exposure["paths"])
    exposure["routes"] = [
        {
            "header": text(f"routes-{i}-header"),
            text(f"routes-{i}-match") or MatchType.EXACT: flat.get(f"routes-{i}-value", ""),
            "service": text(f"routes-{i}-service"),
        }
        for i in range(int(text("route_rows") or 0))
        if text(f"routes-{i}-header") or text(f"routes-{i}-value") or text(f"routes-{i}-service")
    ]
    traffic = section(TrafficForm, "traffic")
    for key, names in TrafficForm.groups.items():
        traffic[key] = group(TrafficForm, names)
    traffic["allowed_callers"] = _items(flat.get("allowed_callers", ""))
    lines = (flat.get("external_dependencies") or "").splitlines()
    traffic["external_dependencies"] = [dependency_from_line(line) for line in lines if line.strip()]
    telemetry = section(TelemetryForm, "telemetry")
    telemetry["slo"] = group(TelemetryForm, ("slo_availability", "slo_latency_p99_ms"))
    return {
        **{k: text(k) for k in ("name", "team", "lifecycle", "tier", "port", "protocol")},
        "description": (flat.get("description") or "").strip(),
        "mesh": _bool(flat.get("mesh")),
        "runbook_url": text("runbook_url"),
        "exposure": exposure,
        "traffic": traffic,
        "telemetry": telemetry,
    }


# --- errors --------------------------------------------------------------------------------------------


def flatten_errors(errors, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors -> {"traffic.retries.attempts": [...], "exposure.routes.0.service": [...]}."""
    out: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            for path, messages in flatten_errors(value, f"{prefix}.{key}" if prefix else str(key)).items():
                out.setdefault(path, []).extend(messages)
    elif isinstance(errors, list):
        if all(isinstance(e, str) for e in errors):
            out.setdefault(prefix, []).extend(str(e) for e in errors)
        else:
            for i, item in enumerate(errors):
                if item:
                    for path, messages in flatten_errors(item, f"{prefix}.{i}").items():
                        out.setdefault(path, []).extend(messages)
    elif errors:
        out.setdefault(prefix, []).append(str(errors))
    return out


def _dependency_message(path: str, message: str) -> str:
    """An error of one dependency's field, said with the line and field it concerns (the text area is one field)."""
    if found := re.match(r"^traffic\.external_dependencies\.(\d+)\.(\w+)$", path):
        return f"Line {int(found.group(1)) + 1}, {found.group(2)}: {message}"
    return message


def _route_path(path: str) -> str:
    """A route's value errors (exact/prefix/regex, or 'give exactly one') belong to its value field."""
    return re.sub(r"^(exposure\.routes\.\d+)\.(exact|prefix|regex|non_field_errors)$", r"\1.value", path)


@dataclass
class Errors:
    """Errors sorted by where the form shows them: next to a field, or at the top of a step."""

    fields: dict[str, list[str]]
    steps: dict[str, list[str]]

    def for_step(self, step: str, field_names) -> "Errors":
        names = set(field_names)
        return Errors(
            {k: v for k, v in self.fields.items() if k in names},
            {k: v for k, v in self.steps.items() if k == step},
        )

    def __bool__(self) -> bool:
        return bool(self.fields or self.steps)


class ServiceWizard:
    """All steps' forms over one set of flat values, and their validation through ``ServiceSerializer``."""

    def __init__(self, flat: dict[str, str], *, instance: Service | None, teams: list[tuple[str, str]]):
        self.flat = flat
        self.instance = instance
        self.teams = teams
        self.forms: dict[str, StepForm] = {
            "basics": BasicsForm(flat, teams=teams, editing=instance is not None),
            "exposure": ExposureForm(flat, route_rows=max(1, int(flat.get("route_rows") or 1))),
            "traffic": TrafficForm(flat),
            "telemetry": TelemetryForm(flat),
        }
        self.paths = {name: path for form in self.forms.values() for name, path in form.doc_paths.items()}
        self.labels = {name: form.fields[name].label for form in self.forms.values() for name in form.fields}
        self._serializer: ServiceSerializer | None = None

    def document(self) -> dict:
        return document_from_flat(self.flat)

    @property
    def serializer(self) -> ServiceSerializer:
        if self._serializer is None:
            self._serializer = ServiceSerializer(instance=self.instance, data=self.document())
            self._serializer.is_valid()
        return self._serializer

    def errors(self) -> Errors:
        """Every error of the whole document, placed on a field or a step."""
        by_path = {name: path for name, path in self.paths.items()}
        fields: dict[str, list[str]] = {}
        steps: dict[str, list[str]] = {}
        for path, messages in flatten_errors(self.serializer.errors).items():
            path = _route_path(path)
            name = self._field_for(path, by_path)
            if name:
                fields.setdefault(name, []).extend(_dependency_message(path, m) for m in messages)
                continue
            step = STEP_OF_KEY.get(path.split(".")[0], "review")
            group = next((label for p, label in GROUP_LABELS.items() if path.startswith(p)), "")
            steps.setdefault(step, []).extend(f"{group}: {m}" if group else m for m in messages)
        return Errors(fields, steps)

    @staticmethod
    def _field_for(path: str, by_path: dict[str, str]) -> str | None:
        """The field at ``path``, or at the longest path that contains it (a list item -> its list)."""
        best, best_len = None, -1
        for name, field_path in by_path.items():
            if (path == field_path or path.startswith(field_path + ".")) and len(field_path) > best_len:
                best, best_len = name, len(field_path)
        return best

    def step_errors(self, step: str) -> Errors:
        form = self.forms.get(step)
        return self.errors().for_step(step, form.fields if form else ())

    def validated_document(self) -> dict:
        """The document as it will be saved (defaults filled in, names normalised)."""
        return validated_document(self.serializer.validated_data)

    def first_step_with_errors(self, errors: Errors) -> str:
        for step in STEP_SLUGS:
            form = self.forms.get(step)
            if step in errors.steps or (form and any(name in errors.fields for name in form.fields)):
                return step
        return "review"
