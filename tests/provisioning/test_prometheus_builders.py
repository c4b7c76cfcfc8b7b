"""Monitoring builders: ServiceMonitor, SLO PrometheusRule (checked and unit-tested by the real promtool), dashboard."""

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from provisioning import names
from provisioning.desired.prometheus import (
    build_dashboard,
    build_monitoring,
    build_prometheus_rule,
    build_service_monitor,
)
from provisioning.errors import PermanentError
from provisioning.preflight import VENDORED_CRD_DIR, SchemaValidator
from provisioning.spec import OnCallPair, PlatformSpec, ServiceSpec, Slo, TeamSpec
from tests.specs import respec, service_spec

PROMTOOL_TESTS = Path(__file__).parent / "promtool"
CRD_DIR = VENDORED_CRD_DIR
PLATFORM = PlatformSpec(portal_url="https://portal.example.com")
TEAM = TeamSpec(slug="payments", name="Payments", slack_channel="#payments-alerts")
ONCALL_KEYS = ("incident_commander", "incident_commander_email", "resolver", "resolver_email")


def checkout(**changes: Any) -> ServiceSpec:
    """The service the promtool fixtures are written for: HTTP, in the mesh, 99.9 % and p99 300 ms."""
    base = service_spec(
        name="checkout",
        team=TEAM,
        description="Checkout API",
        port=8080,
        metrics_port=9090,
        dashboard=True,
        slo=Slo(availability=99.9, latency_p99_ms=300),
    )
    return respec(base, **changes)


def body(resources: list) -> dict[str, Any]:
    assert len(resources) == 1
    return resources[0].body


def rule_groups(svc: ServiceSpec) -> list[dict[str, Any]]:
    return body(build_prometheus_rule(svc, PLATFORM))["spec"]["groups"]


def alert_rules(svc: ServiceSpec) -> list[dict[str, Any]]:
    return [rule for group in rule_groups(svc) for rule in group["rules"] if "alert" in rule]


def write_rule_file(svc: ServiceSpec, path: Path) -> Path:
    """The PrometheusRule's groups as the rule file Prometheus loads (the operator writes the same)."""
    path.write_text(yaml.safe_dump({"groups": rule_groups(svc)}, sort_keys=True))
    return path


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool not found: install Debian's 'prometheus' package")
    return path


def run_promtool(promtool: str, *args: str, cwd: Path) -> str:
    result = subprocess.run([promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"promtool {' '.join(args)} exited {result.returncode}:\n{output}"
    return result.stdout


# --- promtool ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "svc",
    [
        checkout(),
        checkout(protocol="grpc", slo=Slo(availability=99.95)),
        checkout(slo=Slo(availability=99.999, latency_p99_ms=50)),
        checkout(slo=Slo(availability=90.0)),
    ],
    ids=["http-latency", "grpc", "five-nines", "ninety"],
)
def test_rule_file_passes_promtool_check(promtool, tmp_path, svc):
    rules = write_rule_file(svc, tmp_path / "rules.yaml")
    out = run_promtool(promtool, "check", "rules", str(rules), cwd=tmp_path)
    assert "SUCCESS" in out


def with_expected_annotations(unit_tests: dict[str, Any], svc: ServiceSpec) -> dict[str, Any]:
    """promtool compares annotations too; take them from the generated rule so the fixture states only
    what it is about: which alerts fire when, with which labels.

    Prometheus evaluates each rule group on its own schedule, so an alert may read the recordings of the
    previous evaluation; promtool, left to itself, picks a random group order. The tests fix the worst one:
    the groups that only alert first, the recording groups last, so every expectation holds in any order."""
    groups = rule_groups(svc)
    records = {group["name"]: any("record" in rule for rule in group["rules"]) for group in groups}
    unit_tests["group_eval_order"] = sorted(records, key=records.__getitem__)
    annotations = {(rule["alert"], rule["labels"]["severity"]): rule["annotations"] for rule in alert_rules(svc)}
    for case in unit_tests["tests"]:
        for check in case["alert_rule_test"]:
            for alert in check["exp_alerts"]:
                alert["exp_annotations"] = annotations[(check["alertname"], alert["exp_labels"]["severity"])]
    return unit_tests


EXPOSED = {"level": "external", "hostnames": ("checkout.example.com",)}


@pytest.mark.parametrize(
    ("fixture", "svc"),
    [
        ("http_slo_test.yaml", checkout()),
        ("grpc_slo_test.yaml", checkout(protocol="grpc", slo=Slo(availability=99.9))),
        ("outage_test.yaml", checkout(**EXPOSED)),
    ],
    ids=["http", "grpc", "outage"],
)
def test_alerts_fire_as_promtool_unit_tests_expect(promtool, tmp_path, fixture, svc):
    unit_tests = yaml.safe_load((PROMTOOL_TESTS / fixture).read_text())
    assert unit_tests["rule_files"] == ["rules.yaml"]
    write_rule_file(svc, tmp_path / "rules.yaml")
    (tmp_path / fixture).write_text(yaml.safe_dump(with_expected_annotations(unit_tests, svc), sort_keys=False))

    out = run_promtool(promtool, "test", "rules", fixture, cwd=tmp_path)
    assert "SUCCESS" in out, out


def test_without_the_gateway_side_a_total_outage_burns_no_budget(promtool, tmp_path):
    """The same outage against the rules of a service the gateway does not reach: its own side has no requests
    left, so the burn-rate page stays silent (only the endpoint and target alerts notice). That is why an exposed
    service's SLI reads the gateway too."""
    unit_tests = yaml.safe_load((PROMTOOL_TESTS / "outage_test.yaml").read_text())
    svc = checkout()
    write_rule_file(svc, tmp_path / "rules.yaml")
    (tmp_path / "outage.yaml").write_text(yaml.safe_dump(with_expected_annotations(unit_tests, svc), sort_keys=False))
    result = subprocess.run([promtool, "test", "rules", "outage.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 1
    failures = result.stderr.split("FAILED:")[1:]
    assert [f for f in failures if "alertname: ErrorBudgetBurn" in f and "time: 5h4m" in f], result.stderr
    assert not [f for f in failures if "ServiceNoReadyEndpoints" in f or "ServiceTargetsDown" in f], result.stderr


# --- PrometheusRule ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [{"slo": None}, {"slo": None, "protocol": "tcp"}, {"slo": None, "mesh": False}],
    ids=["http", "tcp", "outside-mesh"],
)
def test_without_slo_only_the_availability_alerts(changes):
    svc = checkout(**changes)
    [group] = rule_groups(svc)
    assert group["name"] == "checkout.availability"
    assert [(a["alert"], a["labels"]["severity"]) for a in group["rules"]] == [
        ("ServiceTargetsDown", "critical"),
        ("ServiceNoReadyEndpoints", "critical"),
    ]
    assert "istio_" not in yaml.safe_dump(group)
    assert [r.kind for r in build_monitoring(svc, PLATFORM)] == ["ServiceMonitor", "PrometheusRule", "ConfigMap"]


@pytest.mark.parametrize("changes", [{"protocol": "tcp"}, {"mesh": False}], ids=["tcp", "outside-mesh"])
def test_slo_without_istio_request_metrics_is_refused(changes):
    with pytest.raises(PermanentError, match="Istio request metrics"):
        build_prometheus_rule(checkout(**changes), PLATFORM)


def test_prometheus_rule_object():
    rule = body(build_prometheus_rule(checkout(), PLATFORM))
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["kind"] == "PrometheusRule"
    assert rule["metadata"]["name"] == "checkout"
    assert rule["metadata"]["namespace"] == "checkout"
    # The platform Prometheus's ruleSelector matches the portal's managed-by label.
    assert rule["metadata"]["labels"][names.LABEL_MANAGED_BY] == names.MANAGED_BY


WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")


@pytest.mark.parametrize(
    ("changes", "sides"), [({}, ["server"]), (EXPOSED, ["server", "gateway"])], ids=["mesh", "exposed"]
)
def test_recording_rules_cover_every_window_and_side_with_service_labels(changes, sides):
    recordings = [rule for group in rule_groups(checkout(**changes)) for rule in group["rules"] if "record" in rule]
    labels = {"namespace": "checkout", "team": "payments", "service": "checkout"}
    per_side = [
        (f"service_side:{metric}{window}", side)
        for window in WINDOWS
        for side in sides
        for metric in ("requests:rate", "request_errors:rate", "request_errors:ratio_rate")
    ]
    totals = [(f"service:request_errors:ratio_rate{w}", None) for w in WINDOWS]
    expected = sorted([*per_side, *totals, ("service:request_duration_milliseconds:p99_rate5m", None)], key=str)
    assert sorted(((r["record"], r["labels"].get("side")) for r in recordings), key=str) == expected
    for rule in recordings:
        assert {k: v for k, v in rule["labels"].items() if k != "side"} == labels


def test_the_gateway_side_reads_what_the_levels_gateway_asked_of_the_service():
    exprs = [
        r["expr"]
        for g in rule_groups(checkout(**EXPOSED))
        for r in g["rules"]
        if r.get("labels", {}).get("side") == "gateway"
    ]
    assert exprs
    for expr in exprs:
        if "istio_requests_total" in expr:
            assert (
                'reporter="source",source_workload_namespace="istio-ingress",source_workload="istio-ingressgateway-external"'
                in expr
            )
            assert 'destination_service_name="checkout"' in expr


def test_the_sli_is_the_worse_side_and_no_side_divides_by_an_absent_rate():
    rules = {
        (r["record"], r["labels"].get("side")): r["expr"]
        for g in rule_groups(checkout(**EXPOSED))
        for r in g["rules"]
        if "record" in r
    }
    assert rules[("service:request_errors:ratio_rate1h", None)] == (
        'max without (side) (service_side:request_errors:ratio_rate1h{team="payments",service="checkout"})'
    )
    # Errors are 0 rather than absent while requests flow, so a side with traffic always has a ratio.
    assert rules[("service_side:request_errors:rate1h", "gateway")].endswith(" or vector(0))")


def test_every_alert_carries_routing_labels_and_links():
    alerts = alert_rules(checkout())
    assert sorted((a["alert"], a["labels"]["severity"], a["for"]) for a in alerts) == [
        ("ErrorBudgetBurn", "critical", "2m"),
        ("ErrorBudgetBurn", "warning", "15m"),
        ("LatencyP99High", "warning", "10m"),
        ("ServiceNoReadyEndpoints", "critical", "2m"),
        ("ServiceTargetsDown", "critical", "1m"),
    ]
    for alert in alerts:
        assert {k: alert["labels"][k] for k in ("team", "service")} == {"team": "payments", "service": "checkout"}
        assert set(alert["annotations"]) == {"summary", "description", "runbook_url", "dashboard_url"}
        assert alert["annotations"]["runbook_url"] == "https://portal.example.com/services/checkout/runbook"
        assert alert["annotations"]["dashboard_url"] == "https://portal.example.com/services/checkout/dashboard"
        assert all(alert["annotations"].values())


@pytest.mark.parametrize(
    ("availability", "budget"),
    [(99.9, "0.001"), (99.95, "0.0005"), (99.0, "0.01"), (99.999, "0.00001")],
)
def test_burn_thresholds_are_burn_rate_times_error_budget(availability, budget):
    page, ticket = [
        a for a in alert_rules(checkout(slo=Slo(availability=availability))) if a["alert"] == "ErrorBudgetBurn"
    ]
    for burn in ("14.4", "6"):
        assert f"> ({burn} * {budget})" in page["expr"]
    for burn in ("3", "1"):
        assert f"> ({burn} * {budget})" in ticket["expr"]
    assert "ratio_rate1h" in page["expr"]
    assert "ratio_rate5m" in page["expr"]
    assert "ratio_rate3d" in ticket["expr"]


def test_latency_alert_only_with_a_latency_objective():
    svc = checkout(slo=Slo(availability=99.9))
    assert [a["alert"] for a in alert_rules(svc)][2:] == ["ErrorBudgetBurn", "ErrorBudgetBurn"]
    assert "p99" not in yaml.safe_dump(rule_groups(svc))
    latency = alert_rules(checkout())[-1]
    assert latency["expr"].endswith("> 300")


def test_grpc_counts_server_status_codes_not_http_codes():
    exprs = " ".join(rule["expr"] for group in rule_groups(checkout(protocol="grpc")) for rule in group["rules"])
    assert 'grpc_response_status=~"2|4|12|13|14|15"' in exprs
    assert "response_code" not in exprs


# --- ServiceMonitor ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "port"),
    [
        ({"port": 8080, "metrics_port": 8080}, "http-8080"),
        ({"protocol": "grpc", "port": 50051, "metrics_port": 50051}, "grpc-50051"),
        ({"port": 8080, "metrics_port": 9090}, "http-metrics"),
    ],
    ids=["main-port", "grpc-main-port", "separate-metrics-port"],
)
def test_service_monitor_scrapes_the_metrics_port(changes, port):
    svc = checkout(metrics_path="/internal/metrics", scrape_interval_seconds=15, **changes)
    monitor = body(build_service_monitor(svc, PLATFORM))
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["kind"] == "ServiceMonitor"
    assert (monitor["metadata"]["namespace"], monitor["metadata"]["name"]) == ("checkout", "checkout")
    assert monitor["spec"]["selector"] == {"matchLabels": {names.LABEL_SERVICE: "checkout"}}
    [endpoint] = monitor["spec"]["endpoints"]
    assert (endpoint["port"], endpoint["path"], endpoint["interval"]) == (port, "/internal/metrics", "15s")


def test_service_monitor_is_always_rendered():
    svc = checkout(slo=None, dashboard=False)
    assert [r.kind for r in build_monitoring(svc, PLATFORM)] == ["ServiceMonitor", "PrometheusRule"]


@pytest.mark.parametrize(
    ("changes", "scheme"),
    [({"mtls": "STRICT"}, "https"), ({"mtls": "PERMISSIVE"}, None), ({"mesh": False, "slo": None}, None)],
    ids=["strict", "permissive", "outside-mesh"],
)
def test_service_monitor_uses_istio_certificates_only_under_strict_mtls(changes, scheme):
    [endpoint] = body(build_service_monitor(checkout(**changes), PLATFORM))["spec"]["endpoints"]
    assert endpoint.get("scheme") == scheme
    assert ("tlsConfig" in endpoint) == (scheme == "https")


# --- dashboard -----------------------------------------------------------------------------------------


def dashboard_of(svc: ServiceSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    config_map = body(build_dashboard(svc, PLATFORM))
    [document] = config_map["data"].values()
    return config_map, json.loads(document)


def test_dashboard_config_map_is_found_by_grafana_and_holds_valid_json():
    config_map, dashboard = dashboard_of(checkout())
    assert config_map["apiVersion"] == "v1"
    assert config_map["kind"] == "ConfigMap"
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert list(config_map["data"]) == ["checkout.json"]
    assert config_map["data"]["checkout.json"] == json.dumps(dashboard, sort_keys=True, indent=2) + "\n"
    assert [p["title"] for p in dashboard["panels"]] == [
        "Request rate",
        "Error ratio vs SLO budget",
        "Latency",
        "Error budget remaining (30d)",
    ]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


def test_dashboard_uid_is_stable_per_service_and_fits_grafana():
    uid = dashboard_of(checkout())[1]["uid"]
    assert uid == dashboard_of(checkout(description="changed"))[1]["uid"]
    assert uid != dashboard_of(checkout(name="cart"))[1]["uid"]
    assert len(dashboard_of(checkout(name="a" * 63))[1]["uid"]) <= 40


def test_dashboard_without_slo_has_no_budget_panel():
    _, dashboard = dashboard_of(checkout(slo=None))
    assert [p["title"] for p in dashboard["panels"]] == ["Request rate", "Error ratio", "Latency"]


def test_no_dashboard_unless_asked_for():
    assert build_dashboard(checkout(dashboard=False), PLATFORM) == []


# --- every object ----------------------------------------------------------------------------------------


def test_every_object_is_labelled_and_namespaced_for_its_service():
    resources = build_monitoring(checkout(), PLATFORM)
    assert [r.kind for r in resources] == ["ServiceMonitor", "PrometheusRule", "ConfigMap"]
    for resource in resources:
        assert resource.namespace == resource.body["metadata"]["namespace"] == "checkout"
        labels = resource.body["metadata"]["labels"]
        assert names.service_labels("payments", "checkout").items() <= labels.items()


@pytest.mark.parametrize(
    "svc",
    [checkout(), checkout(protocol="grpc", metrics_port=50051, port=50051), checkout(mesh=False, slo=None)],
    ids=["http", "grpc", "outside-mesh"],
)
def test_every_object_validates_against_its_schema(svc):
    validator = SchemaValidator.from_crd_dir(CRD_DIR)
    assert validator.validate_all(r.body for r in build_monitoring(svc, PLATFORM)) == []


def test_building_twice_gives_identical_yaml():
    def render(svc: ServiceSpec) -> str:
        return yaml.safe_dump_all([r.body for r in build_monitoring(svc, PLATFORM)], sort_keys=True)

    first = render(checkout())
    assert render(checkout()) == first
    assert [r.digest for r in build_monitoring(checkout(), PLATFORM)] == [
        r.digest for r in build_monitoring(checkout(), PLATFORM)
    ]
    # Shared sub-objects would come out as anchors and aliases in the committed YAML.
    assert "&id" not in first
    assert "*id" not in first


def test_every_alert_names_the_pair_on_call_for_the_incident_tool():
    pair = OnCallPair("bob", "dave", "bob@example.com", "dave@example.com")
    for alert in alert_rules(checkout(oncall=pair)):
        assert {k: alert["annotations"][k] for k in ONCALL_KEYS} == {
            "incident_commander": "bob",
            "incident_commander_email": "bob@example.com",
            "resolver": "dave",
            "resolver_email": "dave@example.com",
        }
    # Names are literal text in the annotation's Go template.
    [alert, *_] = alert_rules(checkout(oncall=OnCallPair("{{ x }}")))
    assert alert["annotations"]["incident_commander"] == '{{ "{{" }} x }}'
    assert not set(ONCALL_KEYS) & set(alert_rules(checkout(oncall=OnCallPair()))[0]["annotations"])
