"""Monitoring objects of one service (seed §18-3, §19): ServiceMonitor, PrometheusRule, Grafana dashboard.

Pure builders: a spec in, manifests out; no I/O, no clock.

The platform's Prometheus finds these objects by the portal's own label, ``app.kubernetes.io/managed-by:
platform-portal`` (``serviceMonitorSelector`` and ``ruleSelector``, with namespace selectors matching every
namespace); Grafana's dashboard sidecar by ``grafana_dashboard: "1"``. The SLO rules read Istio's standard
request metrics, so the platform must also scrape the sidecars and gateways (``istio_requests_total``,
``istio_request_duration_milliseconds_bucket``); the availability alerts read the scrape targets' ``up`` and
kube-state-metrics, which the platform deploys.
"""

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from provisioning import names
from provisioning.errors import PermanentError
from provisioning.resources import Resource, k8s
from provisioning.spec import EXPOSED_LEVELS, OnCallPair, PlatformSpec, ServiceSpec, Slo

MONITORING_API = "monitoring.coreos.com/v1"

# Where the platform Prometheus mounts the Istio workload certificates it scrapes STRICT-mTLS pods with
# (Istio's documented set-up for the Prometheus operator). Contract with the platform layer.
ISTIO_CERTS_DIR = "/etc/prom-certs"

# Error budgets are over 30 days; the burn rates below assume it.
SLO_PERIOD = "30d"
SLI_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
LATENCY_P99_RECORD = "service:request_duration_milliseconds:p99_rate5m"

ALERT_BUDGET_BURN = "ErrorBudgetBurn"
ALERT_LATENCY = "LatencyP99High"
SEVERITY_PAGE = "critical"
SEVERITY_TICKET = "warning"


@dataclass(frozen=True)
class BurnPolicy:
    """One burn-rate alert: it fires when, for any (long window, short window, burn rate) pair, the error
    ratio over both windows exceeds burn rate x error budget (Google SRE workbook, "Alerting on SLOs")."""

    severity: str
    for_: str
    speed: str
    pairs: tuple[tuple[str, str, str], ...]


# Each pair fires once 2 % (1h at 14.4x), 5 % (6h at 6x) or 10 % (1d at 3x, 3d at 1x) of the budget is gone.
PAGE = BurnPolicy(SEVERITY_PAGE, "2m", "fast", (("1h", "5m", "14.4"), ("6h", "30m", "6")))
TICKET = BurnPolicy(SEVERITY_TICKET, "15m", "steadily", (("1d", "2h", "3"), ("3d", "6h", "1")))

# gRPC codes whose HTTP equivalent is a 5xx (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL,
# UNAVAILABLE, DATA_LOSS): server faults. Client faults such as NOT_FOUND do not spend the budget,
# just as 4xx do not for HTTP.
GRPC_SERVER_ERROR_CODES = "2|4|12|13|14|15"

DASHBOARD_SCHEMA_VERSION = 39


# --- ServiceMonitor ----------------------------------------------------------------------------------


def metrics_port_name(svc: ServiceSpec) -> str:
    """Name of the Service port Prometheus scrapes.

    Contract with the Service builder: the main port is ``names.port_name(protocol, port)``; when
    ``metrics_port != port`` the Service exposes a second port named ``names.METRICS_PORT_NAME`` for it.
    """
    return names.port_name(svc.protocol, svc.port) if svc.metrics_port == svc.port else names.METRICS_PORT_NAME


def build_service_monitor(svc: ServiceSpec, platform: PlatformSpec) -> list[Resource]:
    """The ServiceMonitor scraping the service's own metrics endpoint (always rendered)."""
    endpoint: dict[str, Any] = {
        "port": metrics_port_name(svc),
        "path": svc.telemetry.metrics_path,
        "interval": f"{svc.telemetry.scrape_interval_seconds}s",
    }
    if svc.mesh and svc.traffic.mtls == "STRICT":
        endpoint |= _istio_mtls_scrape()
    return [
        k8s(
            {
                "apiVersion": MONITORING_API,
                "kind": "ServiceMonitor",
                "metadata": _metadata(svc, svc.name),
                "spec": {
                    "selector": {"matchLabels": {names.LABEL_SERVICE: svc.name}},
                    "endpoints": [endpoint],
                },
            }
        )
    ]


def _istio_mtls_scrape() -> dict[str, Any]:
    """Scrape over Istio mTLS: a STRICT sidecar refuses the plain-text connections Prometheus would open."""
    return {
        "scheme": "https",
        "tlsConfig": {
            "caFile": f"{ISTIO_CERTS_DIR}/root-cert.pem",
            "certFile": f"{ISTIO_CERTS_DIR}/cert-chain.pem",
            "keyFile": f"{ISTIO_CERTS_DIR}/key.pem",
            # Prometheus cannot check Istio's SPIFFE identities; the client certificate is what matters.
            "insecureSkipVerify": True,
        },
    }


# --- SLI queries (shared by the rules and the dashboard) ----------------------------------------------


def _istio_selector(svc: ServiceSpec, *extra: str) -> str:
    """Server-side view of the service's requests: the destination sidecar reports every request it served."""
    matchers = (
        'reporter="destination"',
        f'destination_service_namespace="{svc.name}"',
        f'destination_service_name="{svc.name}"',
        *extra,
    )
    return "{" + ",".join(matchers) + "}"


def _error_matcher(svc: ServiceSpec) -> str:
    if svc.protocol == "grpc":
        return f'grpc_response_status=~"{GRPC_SERVER_ERROR_CODES}"'
    return 'response_code=~"5.."'


def _request_rate_query(svc: ServiceSpec, window: str) -> str:
    return f"sum(rate(istio_requests_total{_istio_selector(svc)}[{window}]))"


def _error_rate_query(svc: ServiceSpec, window: str) -> str:
    """Rate of failed requests; 0 rather than no data while the service has never failed."""
    errors = f"istio_requests_total{_istio_selector(svc, _error_matcher(svc))}"
    return f"(sum(rate({errors}[{window}])) or vector(0))"


def _latency_query(svc: ServiceSpec, quantile: str, window: str) -> str:
    buckets = f"istio_request_duration_milliseconds_bucket{_istio_selector(svc)}"
    return f"histogram_quantile({quantile}, sum by (le) (rate({buckets}[{window}])))"


# --- PrometheusRule -----------------------------------------------------------------------------------

# The two views of a service's requests. ``server``: what its own sidecars served (``reporter="destination"``);
# gone with the pods. ``gateway``: what the level's ingress gateway asked of it (``reporter="source"``), where a
# total outage shows as the gateway's own 503s (no healthy upstream) while the server side reports nothing.
SIDE_SERVER = "server"
SIDE_GATEWAY = "gateway"

ALERT_TARGETS_DOWN = "ServiceTargetsDown"
ALERT_NO_ENDPOINTS = "ServiceNoReadyEndpoints"
# No successful scrape of any target in this long: the service's pods are gone or its metrics endpoint is broken.
TARGETS_WINDOW = "5m"


def side_requests_record(window: str) -> str:
    return f"service_side:requests:rate{window}"


def side_errors_record(window: str) -> str:
    return f"service_side:request_errors:rate{window}"


def side_error_ratio_record(window: str) -> str:
    return f"service_side:request_errors:ratio_rate{window}"


def error_ratio_record(window: str) -> str:
    """The SLI: the worse of the sides' error ratios."""
    return f"service:request_errors:ratio_rate{window}"


def error_budget(slo: Slo) -> Decimal:
    """Allowed error ratio, exact in decimal so that thresholds render as written (99.9 -> 0.001)."""
    return (Decimal(100) - Decimal(str(slo.availability))) / 100


def sides(svc: ServiceSpec, platform: PlatformSpec) -> dict[str, str]:
    """Each side's selector of ``istio_requests_total`` for the service; the gateway's only when it is exposed."""
    target = (f'destination_service_namespace="{svc.name}"', f'destination_service_name="{svc.name}"')
    views = {SIDE_SERVER: ('reporter="destination"', *target)}
    if svc.mesh and svc.exposure.level in EXPOSED_LEVELS:
        gateway = (
            'reporter="source"',
            f'source_workload_namespace="{platform.ingress_namespace}"',
            f'source_workload="{names.ingress_gateway_name(svc.exposure.level)}"',
        )
        views[SIDE_GATEWAY] = (*gateway, *target)
    return {side: ",".join(matchers) for side, matchers in views.items()}


def build_prometheus_rule(svc: ServiceSpec, platform: PlatformSpec) -> list[Resource]:
    """Availability alerts for every service (scrape targets, ready endpoints); with an SLO, its recording rules,
    burn-rate alerts and the latency alert.

    Alerts link ``runbook_url`` and ``dashboard_url`` to the portal's pages of the service
    (``{portal_url}/services/<name>/runbook`` and ``.../dashboard``), which lead on to the runbook URL and to
    the Grafana dashboard (``dashboard_uid``), so an alert keeps working when either changes. They name the
    pair on call when rendered (``incident_commander``, ``resolver`` and their e-mails); the on-call refresh
    re-renders them at each hand-over, and Prometheus re-reads annotations at every evaluation.
    """
    groups = [{"name": f"{svc.name}.availability", "rules": _availability_alerts(svc, platform)}]
    slo = svc.telemetry.slo
    if slo is not None:
        if not svc.mesh or svc.protocol not in ("http", "grpc"):
            # Without a sidecar, or without requests (TCP), Istio reports no request metrics: the alerts
            # would never fire. Refuse rather than render a silent SLO.
            raise PermanentError(
                f"{svc.name}: an SLO needs Istio request metrics, i.e. an HTTP or gRPC service in the mesh",
                code="slo_without_request_metrics",
            )
        groups += [
            {"name": f"{svc.name}.slo.recordings", "rules": _recording_rules(svc, slo, platform)},
            {"name": f"{svc.name}.slo.alerts", "rules": _alert_rules(svc, slo, platform)},
        ]
    return [
        k8s(
            {
                "apiVersion": MONITORING_API,
                "kind": "PrometheusRule",
                "metadata": _metadata(svc, svc.name),
                "spec": {"groups": groups},
            }
        )
    ]


def _series_labels(svc: ServiceSpec) -> dict[str, str]:
    """Labels of every recorded series and alert: Alertmanager routes on ``team``; ``namespace`` lets a
    namespaced AlertmanagerConfig (the operator's default matcher strategy) see the alerts."""
    return {"namespace": svc.name, "team": svc.team.slug, "service": svc.name}


def _recorded(svc: ServiceSpec, record: str, side: str = "") -> str:
    """A recorded series of this service only: every service's recordings share the names."""
    matchers = f'team="{svc.team.slug}",service="{svc.name}"' + (f',side="{side}"' if side else "")
    return f"{record}{{{matchers}}}"


def _recording_rules(svc: ServiceSpec, slo: Slo, platform: PlatformSpec) -> list[dict[str, Any]]:
    records: list[tuple[str, str, str]] = []
    views = sides(svc, platform)
    for window in SLI_WINDOWS:
        # Rules of a group run in order at one timestamp, so each ratio sees the rates just recorded. A side
        # without requests has no ratio (no division yields a number from nothing) and the SLI is the worse
        # side that has one: with every pod gone, the gateway's 503s alone make it.
        for side, selector in views.items():
            errors = f"istio_requests_total{{{selector},{_error_matcher(svc)}}}"
            failed, served = side_errors_record(window), side_requests_record(window)
            ratio = f"{_recorded(svc, failed, side)} / {_recorded(svc, served, side)}"
            records += [
                (served, f"sum(rate(istio_requests_total{{{selector}}}[{window}]))", side),
                (failed, f"(sum(rate({errors}[{window}])) or vector(0))", side),
                (side_error_ratio_record(window), ratio, side),
            ]
        worst = f"max without (side) ({_recorded(svc, side_error_ratio_record(window))})"
        records.append((error_ratio_record(window), worst, ""))
    if slo.latency_p99_ms is not None:
        records.append((LATENCY_P99_RECORD, _latency_query(svc, "0.99", "5m"), ""))
    # A fresh labels dict per rule: shared ones would serialize as YAML anchors and aliases.
    return [
        {"record": record, "expr": expr, "labels": _series_labels(svc) | ({"side": side} if side else {})}
        for record, expr, side in records
    ]


def _availability_alerts(svc: ServiceSpec, platform: PlatformSpec) -> list[dict[str, Any]]:
    """Alerts that need no traffic to notice that nothing runs: no scrape target answers, no endpoint is ready.

    The operator names a ServiceMonitor's scrape job after the Service (the service's own name here).
    kube-state-metrics has ``kube_endpoint_info`` for every Endpoints object and ``kube_endpoint_address`` for
    each of its addresses: an object without a ready address is an outage; without kube-state-metrics neither
    series exists and the platform's own rules page the SRE team instead.
    """
    targets = f'up{{namespace="{svc.name}",job="{svc.name}"}}'
    endpoint = f'namespace="{svc.name}",endpoint="{svc.name}"'
    return [
        {
            "alert": ALERT_TARGETS_DOWN,
            "expr": (
                f"(max(max_over_time({targets}[{TARGETS_WINDOW}])) == 0)"
                f" or absent_over_time({targets}[{TARGETS_WINDOW}])"
            ),
            "for": "1m",
            "labels": _series_labels(svc) | {"severity": SEVERITY_PAGE},
            "annotations": _annotations(
                svc,
                platform,
                summary=f"No instance of {svc.name} can be scraped",
                description=(
                    f"Prometheus has had no successful scrape of {svc.name} (team {svc.team.slug}) for "
                    f"{TARGETS_WINDOW}: its pods are gone, not ready, or its metrics endpoint "
                    f"({svc.telemetry.metrics_path}) fails."
                ),
            ),
        },
        {
            "alert": ALERT_NO_ENDPOINTS,
            "expr": (
                f"kube_endpoint_info{{{endpoint}}}"
                f' unless on (namespace, endpoint) kube_endpoint_address{{{endpoint},ready="true"}}'
            ),
            "for": "2m",
            "labels": _series_labels(svc) | {"severity": SEVERITY_PAGE},
            "annotations": _annotations(
                svc,
                platform,
                summary=f"{svc.name} has no ready endpoint",
                description=(
                    f"The Service {svc.name} (team {svc.team.slug}) has had no ready pod behind it for 2 minutes: "
                    "every request to it fails."
                ),
            ),
        },
    ]


def _alert_rules(svc: ServiceSpec, slo: Slo, platform: PlatformSpec) -> list[dict[str, Any]]:
    rules = [_burn_alert(svc, slo, platform, PAGE), _burn_alert(svc, slo, platform, TICKET)]
    if slo.latency_p99_ms is not None:
        rules.append(_latency_alert(svc, platform, slo.latency_p99_ms))
    return rules


def _burn_alert(svc: ServiceSpec, slo: Slo, platform: PlatformSpec, policy: BurnPolicy) -> dict[str, Any]:
    budget = error_budget(slo)
    # Both windows of a pair over the threshold: the long one proves the burn is real, the short one lets
    # the alert resolve minutes after a fix instead of hours.
    expr = " or ".join(
        f"({_recorded(svc, error_ratio_record(long))} > ({burn} * {_decimal(budget)})"
        f" and {_recorded(svc, error_ratio_record(short))} > ({burn} * {_decimal(budget)}))"
        for long, short, burn in policy.pairs
    )
    conditions = "; or ".join(
        f"above {burn}x the budget ({_percent(Decimal(burn) * budget)}) over both {long} and {short}"
        for long, short, burn in policy.pairs
    )
    return {
        "alert": ALERT_BUDGET_BURN,
        "expr": expr,
        "for": policy.for_,
        "labels": _series_labels(svc) | {"severity": policy.severity},
        "annotations": _annotations(
            svc,
            platform,
            summary=f"{svc.name} is burning its error budget {policy.speed}",
            description=(
                f"The error ratio of {svc.name} (team {svc.team.slug}) is {conditions}. "
                f"SLO: {_decimal(Decimal(str(slo.availability)))} % of requests succeed over {SLO_PERIOD}."
            ),
        ),
    }


def _latency_alert(svc: ServiceSpec, platform: PlatformSpec, threshold_ms: int) -> dict[str, Any]:
    return {
        "alert": ALERT_LATENCY,
        "expr": f"{_recorded(svc, LATENCY_P99_RECORD)} > {threshold_ms}",
        "for": "10m",
        "labels": _series_labels(svc) | {"severity": SEVERITY_TICKET},
        "annotations": _annotations(
            svc,
            platform,
            summary=f"{svc.name} p99 latency is above {threshold_ms} ms",
            description=(
                f"The 99th percentile latency of {svc.name} (team {svc.team.slug}) over 5m has exceeded "
                f"its {threshold_ms} ms objective for 10 minutes."
            ),
        ),
    }


def go_text(text: str) -> str:
    """Literal text inside a Go template (Prometheus annotations, Alertmanager messages): only ``{{`` would
    start an action."""
    return text.replace("{{", '{{ "{{" }}')


def oncall_annotations(oncall: OnCallPair) -> dict[str, str]:
    """Who is on call, for the incident tool to assign: the incident commander first, the resolver second."""
    people = {
        "incident_commander": oncall.incident_commander,
        "incident_commander_email": oncall.incident_commander_email,
        "resolver": oncall.resolver,
        "resolver_email": oncall.resolver_email,
    }
    return {key: go_text(value) for key, value in people.items() if value}


def _annotations(svc: ServiceSpec, platform: PlatformSpec, *, summary: str, description: str) -> dict:
    service_page = f"{platform.portal_url.rstrip('/')}/services/{svc.name}"
    return {
        "summary": summary,
        "description": description,
        "runbook_url": f"{service_page}/runbook",
        "dashboard_url": f"{service_page}/dashboard",
        **oncall_annotations(svc.oncall),
    }


def _decimal(value: Decimal) -> str:
    """Plain notation without trailing zeros: 0.001, 14.4, 99.9."""
    return format(value.normalize(), "f")


def _percent(ratio: Decimal) -> str:
    return f"{_decimal(ratio * 100)} %"


# --- Grafana dashboard ----------------------------------------------------------------------------------


def dashboard_uid(service: str) -> str:
    """Stable Grafana uid (at most 40 characters, unlike a service name)."""
    return "svc-" + hashlib.sha256(service.encode()).hexdigest()[:20]


def build_dashboard(svc: ServiceSpec, platform: PlatformSpec) -> list[Resource]:
    """A ConfigMap holding the service's Grafana dashboard, for the dashboard sidecar; only when asked for."""
    if not svc.telemetry.dashboard:
        return []
    metadata = _metadata(svc, f"{svc.name}-dashboard", {names.LABEL_GRAFANA_DASHBOARD: "1"})
    metadata["annotations"] = {names.ANNOTATION_GRAFANA_FOLDER: svc.team.slug}
    dashboard = json.dumps(dashboard_model(svc, platform), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    return [
        k8s(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": metadata,
                "data": {f"{svc.name}.json": dashboard},
            }
        )
    ]


def dashboard_model(svc: ServiceSpec, platform: PlatformSpec) -> dict[str, Any]:
    """The Grafana dashboard JSON model; it queries Istio's metrics directly so it works without an SLO."""
    panels = [_request_rate_panel(svc), _error_ratio_panel(svc), _latency_panel(svc)]
    if svc.telemetry.slo is not None:
        panels.append(_budget_panel(svc, svc.telemetry.slo))
    for index, panel in enumerate(panels):
        # Two panels a row, 12 of Grafana's 24 columns each.
        panel |= {"id": index + 1, "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)}}
    service_page = f"{platform.portal_url.rstrip('/')}/services/{svc.name}"
    return {
        "uid": dashboard_uid(svc.name),
        "title": f"{svc.team.slug} / {svc.name}",
        "description": svc.description,
        "tags": ["portal", f"team:{svc.team.slug}"],
        "editable": False,
        "schemaVersion": DASHBOARD_SCHEMA_VERSION,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "templating": {
            "list": [{"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus"}]
        },
        "links": [
            {"title": "Service in the portal", "type": "link", "url": service_page},
            {"title": "Runbook", "type": "link", "url": f"{service_page}/runbook"},
        ],
        "panels": panels,
    }


def _panel(title: str, unit: str, targets: list[tuple[str, str]], kind: str = "timeseries") -> dict[str, Any]:
    return {
        "type": kind,
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend}
            for i, (legend, expr) in enumerate(targets)
        ],
    }


def _threshold_line(panel: dict[str, Any], value: float) -> dict[str, Any]:
    """Draw the objective as a red line across a time series panel."""
    defaults = panel["fieldConfig"]["defaults"]
    defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
    defaults["thresholds"] = {
        "mode": "absolute",
        "steps": [{"color": "green", "value": None}, {"color": "red", "value": value}],
    }
    return panel


def _request_rate_panel(svc: ServiceSpec) -> dict[str, Any]:
    window = "$__rate_interval"
    return _panel(
        "Request rate",
        "reqps",
        [("requests", _request_rate_query(svc, window)), ("errors", _error_rate_query(svc, window))],
    )


def _error_ratio_panel(svc: ServiceSpec) -> dict[str, Any]:
    window = "$__rate_interval"
    ratio = f"{_error_rate_query(svc, window)} / {_request_rate_query(svc, window)}"
    if svc.telemetry.slo is None:
        return _panel("Error ratio", "percentunit", [("error ratio", ratio)])
    panel = _panel("Error ratio vs SLO budget", "percentunit", [("error ratio", ratio)])
    return _threshold_line(panel, float(error_budget(svc.telemetry.slo)))


def _latency_panel(svc: ServiceSpec) -> dict[str, Any]:
    window = "$__rate_interval"
    panel = _panel(
        "Latency",
        "ms",
        [("p50", _latency_query(svc, "0.5", window)), ("p99", _latency_query(svc, "0.99", window))],
    )
    if svc.telemetry.slo is not None and svc.telemetry.slo.latency_p99_ms is not None:
        _threshold_line(panel, svc.telemetry.slo.latency_p99_ms)
    return panel


def _budget_panel(svc: ServiceSpec, slo: Slo) -> dict[str, Any]:
    """Share of the period's error budget still unspent (negative once the SLO is missed)."""
    ratio = f"{_error_rate_query(svc, SLO_PERIOD)} / {_request_rate_query(svc, SLO_PERIOD)}"
    remaining = f"1 - ({ratio}) / {_decimal(error_budget(slo))}"
    panel = _panel(f"Error budget remaining ({SLO_PERIOD})", "percentunit", [("remaining", remaining)], kind="stat")
    panel["fieldConfig"]["defaults"]["thresholds"] = {
        "mode": "absolute",
        "steps": [
            {"color": "red", "value": None},
            {"color": "orange", "value": 0},
            {"color": "green", "value": 0.25},
        ],
    }
    return panel


# --- all of it ----------------------------------------------------------------------------------------------


def build_monitoring(svc: ServiceSpec, platform: PlatformSpec) -> list[Resource]:
    """Every monitoring object of the service: ServiceMonitor, then the PrometheusRule and dashboard if set."""
    return [
        *build_service_monitor(svc, platform),
        *build_prometheus_rule(svc, platform),
        *build_dashboard(svc, platform),
    ]


def _metadata(svc: ServiceSpec, name: str, extra_labels: dict[str, str] | None = None) -> dict[str, Any]:
    labels = names.service_labels(svc.team.slug, svc.name) | (extra_labels or {})
    return {"name": name, "namespace": svc.name, "labels": labels}
