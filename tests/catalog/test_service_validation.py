"""Every bad input gets an error naming its field, and nothing is saved."""

import copy

import pytest

from portal.catalog.api.serializers import ServiceSerializer
from portal.catalog.documents import merge_patch
from portal.catalog.models import Hostname, Route, Service, Team, Telemetry, Traffic
from portal.catalog.services import create_service, update_service

PAYMENTS_API = {
    "name": "payments-api",
    "team": "payments",
    "description": "Payments API",
    "lifecycle": "production",
    "tier": 1,
    "port": 8080,
    "protocol": "http",
    "mesh": True,
    "exposure": {
        "level": "external",
        "hostnames": ["Pay.Example.com"],
        "paths": ["/"],
        "routes": [{"header": "User-Agent", "regex": ".*Mobile.*", "service": "payments-sp"}],
    },
    "traffic": {
        "load_balancer": "least_request",
        "hash_on": None,
        "timeout_seconds": 5,
        "retries": {"attempts": 3, "per_try_timeout_seconds": 2, "retry_on": "5xx,reset"},
        "outlier_detection": {"consecutive_5xx": 5, "interval_seconds": 10, "base_ejection_seconds": 30},
        "mtls": "STRICT",
        "allowed_callers": ["checkout"],
    },
    "telemetry": {
        "access_logging": True,
        "log_retention_days": 30,
        "metrics_path": "/metrics",
        "metrics_port": 9090,
        "scrape_interval_seconds": 30,
        "tracing_sampling_percent": 10,
        "dashboard": True,
        "slo": {"availability": 99.9, "latency_p99_ms": 300},
    },
}


def save(data, instance=None):
    serializer = ServiceSerializer(instance=instance, data=data)
    if serializer.is_valid():
        data = serializer.validated_data
        return (create_service(data) if instance is None else update_service(instance, data)), None
    return None, serializer.errors


@pytest.fixture
def neighbours(team, platform):
    for name in ("payments-sp", "checkout"):
        save({"name": name, "team": "payments"})


def doc(**changes):
    return merge_patch(copy.deepcopy(PAYMENTS_API), changes)


def assert_refused(data, path, fragment=""):
    """The error sits at ``path`` (e.g. "exposure.hostnames") and nothing of the service was written."""
    counts = (
        Service.objects.count(),
        Hostname.objects.count(),
        Route.objects.count(),
        Traffic.objects.count(),
        Telemetry.objects.count(),
    )
    service, errors = save(data)
    assert service is None, "expected a validation error"
    node = errors
    for key in path.split("."):
        assert key in node, f"no error at {path!r}: {errors}"
        node = node[key]
    text = str(node)
    assert fragment.lower() in text.lower(), text
    assert counts == (
        Service.objects.count(),
        Hostname.objects.count(),
        Route.objects.count(),
        Traffic.objects.count(),
        Telemetry.objects.count(),
    )


def test_the_design_document_payload_is_accepted_and_normalised(neighbours):
    service, errors = save(doc())
    assert errors is None
    data = ServiceSerializer(service).data
    assert data["exposure"]["hostnames"] == ["pay.example.com"]
    assert data["exposure"]["routes"] == [{"header": "user-agent", "regex": ".*Mobile.*", "service": "payments-sp"}]
    assert data["traffic"]["allowed_callers"] == ["checkout"]
    assert data["traffic"]["retries"] == {"attempts": 3, "per_try_timeout_seconds": 2, "retry_on": "5xx,reset"}
    assert data["telemetry"]["slo"] == {"availability": 99.9, "latency_p99_ms": 300}


def test_omitted_nested_objects_take_defaults(team, platform):
    service, errors = save({"name": "ledger", "team": "payments"})
    assert errors is None
    data = ServiceSerializer(service).data
    assert data["exposure"] == {"level": "mesh", "hostnames": [], "paths": ["/"], "routes": [], "builtin_sso": False}
    assert data["traffic"]["load_balancer"] == "round_robin"
    assert data["traffic"]["mtls"] == "STRICT"
    assert data["telemetry"]["access_logging"] is True
    assert data["telemetry"]["log_retention_days"] == 30
    assert data["telemetry"]["tracing_sampling_percent"] == 1


@pytest.mark.parametrize("name", ["Payments", "pay_api", "-api", "api-", "a" * 64, "pay.api", ""])
def test_name_must_be_a_dns1123_label(neighbours, name):
    assert_refused(doc(name=name), "name")


def test_name_is_unique(neighbours):
    assert_refused(doc(name="checkout"), "name", "already exists")


def test_hostname_must_lie_under_the_zone_of_the_level(neighbours):
    assert_refused(doc(exposure={"hostnames": ["pay.other.org"]}), "exposure.hostnames", "neither platform zone")


def test_hostname_picks_the_most_specific_zone(neighbours):
    # internal.example.com lies inside example.com, but it is the internal zone.
    assert_refused(
        doc(exposure={"hostnames": ["pay.internal.example.com"]}), "exposure.hostnames", "internal.example.com zone"
    )


def test_internal_hostname_in_the_internal_zone_is_accepted(neighbours):
    _, errors = save(doc(exposure={"level": "internal", "hostnames": ["pay.internal.example.com"]}))
    assert errors is None, errors


def test_wildcard_hostnames_are_refused(neighbours):
    assert_refused(doc(exposure={"hostnames": ["*.example.com"]}), "exposure.hostnames", "wildcard")


def test_hostnames_are_unique_across_services_case_insensitively(neighbours):
    save(doc())
    assert_refused(
        doc(name="payments-v2", exposure={"hostnames": ["PAY.example.com"]}),
        "exposure.hostnames",
        "already used by service 'payments-api'",
    )


def test_external_is_refused_outside_the_mesh(neighbours):
    assert_refused(doc(mesh=False, exposure={"routes": []}, traffic=None), "exposure.level", "mesh")


@pytest.mark.parametrize("port", [0, 65536, -1])
def test_port_range(neighbours, port):
    assert_refused(doc(port=port), "port")


def test_metrics_port_range(neighbours):
    assert_refused(doc(telemetry={"metrics_port": 70000}), "telemetry.metrics_port")


@pytest.mark.parametrize("value", [-1, 100.5, 250])
def test_tracing_sampling_is_a_percentage(neighbours, value):
    assert_refused(doc(telemetry={"tracing_sampling_percent": value}), "telemetry.tracing_sampling_percent")


@pytest.mark.parametrize("days", [2, 0, 31, 10000])
def test_log_retention_only_takes_cloudwatch_values(neighbours, days):
    assert_refused(doc(telemetry={"log_retention_days": days}), "telemetry.log_retention_days", "CloudWatch")


@pytest.mark.parametrize("availability", [89.9, 99.9999, 100])
def test_availability_between_90_and_99_999(neighbours, availability):
    assert_refused(doc(telemetry={"slo": {"availability": availability}}), "telemetry.slo.availability")


def test_routes_only_point_at_existing_services(neighbours):
    routes = [{"header": "user-agent", "regex": ".*Mobile.*", "service": "no-such-service"}]
    assert_refused(doc(exposure={"routes": routes}), "exposure.routes", "does not exist")


def test_hash_on_only_with_consistent_hash(neighbours):
    assert_refused(doc(traffic={"hash_on": "source_ip"}), "traffic.hash_on", "consistent_hash")


def test_consistent_hash_needs_hash_on(neighbours):
    assert_refused(doc(traffic={"load_balancer": "consistent_hash"}), "traffic.hash_on")


@pytest.mark.parametrize("hash_on", ["header:", "ip", "cookie:bad cookie"])
def test_hash_on_format(neighbours, hash_on):
    assert_refused(doc(traffic={"load_balancer": "consistent_hash", "hash_on": hash_on}), "traffic.hash_on")


def test_allowed_callers_must_exist(neighbours):
    assert_refused(doc(traffic={"allowed_callers": ["ghost"]}), "traffic.allowed_callers", "does not exist")


def test_retry_on_conditions_are_checked(neighbours):
    assert_refused(doc(traffic={"retries": {"retry_on": "5xx,sometimes"}}), "traffic.retries.retry_on", "sometimes")


def test_tcp_cannot_sit_behind_an_alb(neighbours):
    assert_refused(
        doc(protocol="tcp", exposure={"routes": []}, traffic={"retries": None, "timeout_seconds": None}),
        "exposure.level",
        "TCP",
    )


def test_mesh_only_service_has_no_hostnames(neighbours):
    assert_refused(doc(exposure={"level": "mesh"}), "exposure.hostnames")


def test_a_failed_update_leaves_the_stored_service_untouched(neighbours):
    service, _ = save(doc())
    before = ServiceSerializer(service).data
    serializer = ServiceSerializer(instance=service, data=doc(exposure={"hostnames": ["x.other.org"]}))
    assert not serializer.is_valid()
    service.refresh_from_db()
    assert ServiceSerializer(Service.objects.get(pk=service.pk)).data == before


def test_update_replaces_hostnames_and_bumps_the_revision(neighbours):
    service, _ = save(doc())
    updated, errors = save(doc(exposure={"hostnames": ["pay2.example.com", "pay.example.com"]}), instance=service)
    assert errors is None
    assert updated.revision == 2
    assert [h.fqdn for h in updated.exposure.hostnames.all()] == ["pay2.example.com", "pay.example.com"]


def test_the_team_must_exist(platform):
    Team.objects.create(slug="other", name="Other")
    assert_refused({"name": "svc", "team": "nobody"}, "team", "does not exist")


def test_an_slo_needs_request_metrics_from_the_mesh(neighbours):
    tcp = doc(
        protocol="tcp",
        exposure={"level": "mesh", "hostnames": [], "routes": []},
        traffic={"retries": None, "timeout_seconds": None},
    )
    assert_refused(tcp, "telemetry.slo", "HTTP or gRPC")
