"""Golden files: the Kubernetes objects rendered for six service shapes, byte for byte.

Regenerate after an intended change with ``PORTAL_UPDATE_GOLDEN=1 pytest tests/provisioning/test_golden.py``
and review the diff like code.
"""

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from provisioning.desired import render_service
from provisioning.preflight import VENDORED_CRD_DIR, SchemaValidator
from provisioning.resources import KUBERNETES, to_yaml_documents
from provisioning.spec import (
    Canary,
    ConnectionPool,
    Exposure,
    ExternalDependency,
    OnCallPair,
    OutlierDetection,
    PlatformSpec,
    Receivers,
    Retries,
    Route,
    ServiceSpec,
    Slo,
    TeamSpec,
    Telemetry,
    Traffic,
)

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
CRDS = VENDORED_CRD_DIR
PLATFORM = PlatformSpec()
PAYMENTS = TeamSpec(
    slug="payments", name="Payments", slack_channel="#payments-alerts", incident_sns_fingerprint="f" * 64
)
ONCALL = OnCallPair(incident_commander="alice", resolver="carol")
RECEIVERS = Receivers(
    slack_api_url="https://hooks.slack.example.com/services/T0/B0/golden",
    alertmanager_url="https://incidents.example.com/alertmanager/golden",
    alertmanager_token="golden-token",
    sns_url="https://incidents.example.com/sns/golden",
)

SHAPES: dict[str, ServiceSpec] = {
    # A public API in the mesh: least-request balancing, a 10 % canary, a mobile front end by User-Agent.
    "mesh-external-canary": ServiceSpec(
        name="payments-api",
        team=PAYMENTS,
        description="Payments API",
        lifecycle="production",
        tier=1,
        port=8080,
        protocol="http",
        exposure=Exposure(
            level="external",
            hostnames=("pay.example.com", "api.pay.example.com"),
            routes=(Route("user-agent", "regex", ".*Mobile.*", "payments-sp", 8080),),
        ),
        traffic=Traffic(
            load_balancer="least_request",
            canary=Canary(version="v2", weight=10, stable_version="v1"),
            timeout_seconds=5.0,
            retries=Retries(attempts=3, retry_on="5xx,reset", per_try_timeout_seconds=2.0),
            outlier_detection=OutlierDetection(consecutive_5xx=5, interval_seconds=10, base_ejection_seconds=30),
        ),
        telemetry=Telemetry(metrics_port=9090, tracing_sampling_percent=10.0),
        oncall=ONCALL,
        receivers=RECEIVERS,
    ),
    # A corp-only service in the mesh, sticky by source IP, with connection limits.
    "mesh-internal-sticky": ServiceSpec(
        name="ledger",
        team=PAYMENTS,
        exposure=Exposure(level="internal", hostnames=("ledger.internal.example.com",)),
        traffic=Traffic(
            load_balancer="consistent_hash",
            hash_on="source_ip",
            connection_pool=ConnectionPool(max_connections=100, http1_max_pending_requests=50),
            mtls="PERMISSIVE",
        ),
        oncall=ONCALL,
        receivers=RECEIVERS,
    ),
    # A tool outside the mesh, reachable from the corp network behind OAuth2 Proxy; metrics on their own port.
    "tool-oauth2-proxy": ServiceSpec(
        name="kiali-tool",
        team=PAYMENTS,
        mesh=False,
        port=20001,
        exposure=Exposure(level="internal", hostnames=("kiali.internal.example.com",), paths=("/",)),
        telemetry=Telemetry(access_logging=False, metrics_port=8080),
        oncall=ONCALL,
        receivers=RECEIVERS,
    ),
    # MySQL: L4 only, mesh-internal.
    "tcp-mysql": ServiceSpec(
        name="orders-db",
        team=PAYMENTS,
        port=3306,
        protocol="tcp",
        traffic=Traffic(load_balancer="consistent_hash", hash_on="source_ip"),
        telemetry=Telemetry(metrics_port=9104),
        oncall=ONCALL,
        receivers=RECEIVERS,
    ),
    # Availability and latency objectives, and a Grafana dashboard; metrics on their own port.
    "slo-dashboard": ServiceSpec(
        name="checkout",
        team=PAYMENTS,
        protocol="grpc",
        port=50051,
        telemetry=Telemetry(metrics_port=8080, slo=Slo(availability=99.9, latency_p99_ms=300), dashboard=True),
        oncall=ONCALL,
        receivers=RECEIVERS,
    ),
    # Upstreams outside the cluster: Aurora MySQL through the sidecar at L4 (the client does TLS with the RDS CA),
    # and a partner's HTTPS API whose TLS the sidecar originates, verified with a CA bundle Secret.
    "external-dependencies": ServiceSpec(
        name="orders",
        team=PAYMENTS,
        traffic=Traffic(
            external_dependencies=(
                ExternalDependency(
                    name="orders-db",
                    host="orders.cluster-c1a2b3.ap-northeast-1.rds.amazonaws.com",
                    port=3306,
                    protocol="mysql",
                    tls="application",
                ),
                ExternalDependency(
                    name="card-api", host="api.cards.example.net", port=443, protocol="http", ca_secret="cards-ca"
                ),
            )
        ),
        oncall=ONCALL,
        receivers=RECEIVERS,
    ),
    # Only named callers may reach it.
    "allowed-callers": ServiceSpec(
        name="vault-proxy",
        team=PAYMENTS,
        traffic=Traffic(allowed_callers=("checkout", "payments-api")),
        oncall=ONCALL,
        receivers=RECEIVERS,
    ),
}


def rendered(svc: ServiceSpec) -> list[dict]:
    return [r.body for r in render_service(svc, PLATFORM) if r.provider == KUBERNETES]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_rendering_matches_the_golden_file(shape):
    text = to_yaml_documents(rendered(SHAPES[shape]))
    path = GOLDEN / f"{shape}.yaml"
    if os.environ.get("PORTAL_UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.exists(), f"no golden file {path.name}; run with PORTAL_UPDATE_GOLDEN=1"
    assert text == path.read_text(), f"{shape} renders differently from {path.name}"


@pytest.fixture(scope="module")
def validator() -> SchemaValidator:
    return SchemaValidator.from_crd_dir(CRDS)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_golden_object_is_strictly_valid(shape, validator):
    manifests = rendered(SHAPES[shape])
    for manifest in manifests:
        assert validator.has_schema(manifest["apiVersion"], manifest["kind"]), manifest["kind"]
    assert validator.validate_all(manifests) == []


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_golden_rule_groups_pass_promtool(shape, tmp_path):
    rules = [m for m in rendered(SHAPES[shape]) if m["kind"] == "PrometheusRule"]
    for rule in rules:
        path = tmp_path / f"{rule['metadata']['name']}.yaml"
        path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
        result = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_shapes_cover_what_the_catalog_offers():
    kinds = {shape: {m["kind"] for m in rendered(svc)} for shape, svc in SHAPES.items()}
    assert {"VirtualService", "DestinationRule", "PeerAuthentication", "Telemetry"} <= kinds["mesh-external-canary"]
    assert {"Ingress", "Certificate"} <= kinds["tool-oauth2-proxy"]
    assert "VirtualService" not in kinds["tool-oauth2-proxy"]
    assert {"PrometheusRule", "ConfigMap"} <= kinds["slo-dashboard"]
    assert "AuthorizationPolicy" in kinds["allowed-callers"]
    assert "ServiceEntry" in kinds["external-dependencies"]
