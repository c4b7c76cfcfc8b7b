"""Core Kubernetes and Istio builders: each catalog choice maps to the right fields, and every object is valid."""

import copy
import json
from functools import cache
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from provisioning import names
from provisioning.desired.istio import build_mesh, duration
from provisioning.desired.kubernetes import build_core
from provisioning.preflight import VENDORED_CRD_DIR
from provisioning.resources import Resource
from provisioning.spec import (
    Canary,
    ConnectionPool,
    OutlierDetection,
    PlatformSpec,
    Retries,
    Route,
    ServiceSpec,
    TeamSpec,
)
from tests.specs import service_spec

CRD_DIR = VENDORED_CRD_DIR
PLATFORM = PlatformSpec()
TEAM = TeamSpec(slug="payments", name="Payments")
MESH_HOST = "payments-api.payments-api.svc.cluster.local"
INTERNAL_GATEWAY = "istio-ingress/internal-gateway"
EXTERNAL_GATEWAY = "istio-ingress/external-gateway"


def snapshot(**overrides: Any) -> ServiceSpec:
    return service_spec(name="payments-api", team=TEAM, **overrides)


def build(svc: ServiceSpec) -> list[Resource]:
    return build_core(svc, PLATFORM) + build_mesh(svc, PLATFORM)


def body(svc: ServiceSpec, kind: str) -> dict[str, Any]:
    (found,) = [r.body for r in build(svc) if r.kind == kind]
    return found


def spec(svc: ServiceSpec, kind: str) -> dict[str, Any]:
    return body(svc, kind)["spec"]


def kinds(svc: ServiceSpec) -> list[str]:
    return [r.kind for r in build(svc)]


# A spread of services covering every branch; the whole-output tests run over all of them.
SCENARIOS = {
    "defaults": snapshot(),
    "external-full": snapshot(
        level="external",
        hostnames=("pay.example.com", "api.example.com"),
        paths=("/api", "/docs"),
        routes=(Route("user-agent", "regex", ".*Mobile.*", "payments-sp"),),
        load_balancer="consistent_hash",
        hash_on="cookie:session",
        canary=Canary(version="v2", weight=10),
        timeout_seconds=2.5,
        retries=Retries(attempts=3, retry_on="5xx,reset", per_try_timeout_seconds=0.75),
        outlier_detection=OutlierDetection(consecutive_5xx=5),
        connection_pool=ConnectionPool(max_connections=100, http1_max_pending_requests=10, http2_max_requests=1000),
        mtls="PERMISSIVE",
        allowed_callers=("checkout", "billing"),
        access_logging=False,
        metrics_port=9090,
        tracing_sampling_percent=12.5,
    ),
    "internal-same-metrics-port": snapshot(
        level="internal", hostnames=("pay.internal.example.com",), allowed_callers=("checkout",)
    ),
    "grpc": snapshot(protocol="grpc", port=9000, metrics_port=9090, load_balancer="least_request"),
    "tcp": snapshot(
        protocol="tcp",
        port=5432,
        metrics_port=9187,
        load_balancer="consistent_hash",
        hash_on="source_ip",
        canary=Canary(version="v2", weight=10),
        outlier_detection=OutlierDetection(consecutive_5xx=3),
        allowed_callers=("checkout",),
    ),
    "outside-mesh-internal": snapshot(
        mesh=False, level="internal", hostnames=("tool.internal.example.com",), paths=("/", "/admin")
    ),
    "outside-mesh-builtin-sso": snapshot(
        mesh=False, level="internal", hostnames=("tool.internal.example.com",), builtin_sso=True
    ),
    "outside-mesh-cluster-only": snapshot(mesh=False),
}


# --- strict schema validation ----------------------------------------------------------------------------


def strict(schema: Any) -> Any:
    """A CRD's structural schema as closed JSON Schema: unknown fields fail, ``nullable`` admits null."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items() if not k.startswith("x-kubernetes-") and k != "nullable"}
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    open_ended = "additionalProperties" in schema or schema.get("x-kubernetes-preserve-unknown-fields")
    if "properties" in schema and not open_ended:
        out["additionalProperties"] = False
    return out


@cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> strict schema, for every served version of the CRDs the builders use."""
    schemas = {}
    for file in ("istio.json", "cert-manager.io_certificates.json"):
        for crd in json.loads((CRD_DIR / file).read_text()):
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                if version["served"]:
                    api_version = f"{group}/{version['name']}"
                    schema = strict(version["schema"]["openAPIV3Schema"])
                    # The API server supplies the envelope fields that Istio's schemas leave out.
                    schema["properties"] |= {
                        "apiVersion": {"const": api_version},
                        "kind": {"const": kind},
                        "metadata": {"type": "object"},
                    }
                    schemas[(api_version, kind)] = schema
    return schemas


def assert_valid(resource: Resource) -> None:
    manifest = resource.body
    schema = crd_schemas().get((manifest["apiVersion"], manifest["kind"]))
    if schema is None:
        kubernetes_validate.validate(manifest, "1.37", strict=True)
    else:
        jsonschema.Draft7Validator(schema).validate(manifest)


@pytest.mark.parametrize("svc", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_every_object_validates_strictly(svc):
    for resource in build(svc):
        assert_valid(resource)


def test_strict_check_rejects_a_misspelled_field():
    manifest = copy.deepcopy(body(SCENARIOS["external-full"], "DestinationRule"))
    manifest["spec"]["trafficPolicy"]["outlierDetection"]["consecutive5xx"] = 5
    with pytest.raises(jsonschema.ValidationError):
        assert_valid(Resource("kubernetes", "DestinationRule", "x", body=manifest))


# --- every object -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("svc", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_every_object_carries_the_service_labels_and_namespace(svc):
    expected = names.service_labels("payments", "payments-api")
    for resource in build(svc):
        meta = resource.body["metadata"]
        assert meta["labels"].items() >= expected.items(), resource.label()
        if resource.kind != "Namespace":
            assert meta["namespace"] == "payments-api", resource.label()


@pytest.mark.parametrize("svc", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_output_is_deterministic(svc):
    first = [json.dumps(r.body) for r in build(svc)]
    again = [json.dumps(r.body) for r in build(copy.deepcopy(svc))]
    assert first == again
    assert [r.key for r in build(svc)] == [r.key for r in build(svc)]


def test_api_versions_are_the_served_v1_ones():
    versions = {r.kind: r.api_version for r in build(SCENARIOS["external-full"])}
    assert versions["DestinationRule"] == versions["VirtualService"] == "networking.istio.io/v1"
    assert versions["PeerAuthentication"] == versions["AuthorizationPolicy"] == "security.istio.io/v1"
    assert versions["Telemetry"] == "telemetry.istio.io/v1"


# --- Kubernetes core -----------------------------------------------------------------------------------------


def test_mesh_service_gets_injection_and_all_istio_objects():
    assert kinds(snapshot()) == [
        "Namespace",
        "ServiceAccount",
        "Service",
        "DestinationRule",
        "VirtualService",
        "PeerAuthentication",
        "Telemetry",
    ]
    assert body(snapshot(), "Namespace")["metadata"]["labels"]["istio-injection"] == "enabled"


def test_outside_the_mesh_injection_is_disabled_and_no_istio_objects():
    svc = SCENARIOS["outside-mesh-cluster-only"]
    assert kinds(svc) == ["Namespace", "ServiceAccount", "Service"]
    assert body(svc, "Namespace")["metadata"]["labels"]["istio-injection"] == "disabled"


def test_service_selects_pods_and_names_ports_for_istio():
    svc_spec = spec(snapshot(metrics_port=9090), "Service")
    assert svc_spec["type"] == "ClusterIP"
    assert svc_spec["selector"] == {"app.kubernetes.io/name": "payments-api"}
    assert svc_spec["ports"] == [
        {"name": "http-8080", "port": 8080, "targetPort": 8080, "protocol": "TCP", "appProtocol": "http"},
        {"name": "http-metrics", "port": 9090, "targetPort": 9090, "protocol": "TCP", "appProtocol": "http"},
    ]


@pytest.mark.parametrize(("protocol", "name"), [("http", "http-8080"), ("grpc", "grpc-8080"), ("tcp", "tcp-8080")])
def test_metrics_on_the_main_port_means_one_port(protocol, name):
    (port,) = spec(snapshot(protocol=protocol), "Service")["ports"]
    assert (port["name"], port["appProtocol"]) == (name, protocol)


def test_internal_outside_the_mesh_gets_ingress_behind_oauth2_proxy_and_certificate():
    svc = SCENARIOS["outside-mesh-internal"]
    assert kinds(svc) == ["Namespace", "ServiceAccount", "Service", "Ingress", "Certificate"]
    ingress = body(svc, "Ingress")
    assert ingress["metadata"]["annotations"] == {
        "nginx.ingress.kubernetes.io/auth-url": "http://oauth2-proxy.oauth2-proxy.svc.cluster.local/oauth2/auth",
        "nginx.ingress.kubernetes.io/auth-signin": (
            "https://oauth2-proxy.internal.example.com/oauth2/start?rd=$scheme://$host$escaped_request_uri"
        ),
    }
    backend = {"service": {"name": "payments-api", "port": {"number": 8080}}}
    assert ingress["spec"] == {
        "ingressClassName": "nginx",
        "tls": [{"hosts": ["tool.internal.example.com"], "secretName": "payments-api-tls"}],
        "rules": [
            {
                "host": "tool.internal.example.com",
                "http": {
                    "paths": [
                        {"path": "/", "pathType": "Prefix", "backend": backend},
                        {"path": "/admin", "pathType": "Prefix", "backend": backend},
                    ]
                },
            }
        ],
    }
    certificate = body(svc, "Certificate")
    assert certificate["metadata"]["name"] == "payments-api-tls"
    assert certificate["spec"] == {
        "secretName": "payments-api-tls",
        "dnsNames": ["tool.internal.example.com"],
        "issuerRef": {"name": "internal-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"},
    }


def test_builtin_sso_drops_the_oauth2_proxy_annotations_and_says_the_portal_renders_no_settings():
    ingress = body(SCENARIOS["outside-mesh-builtin-sso"], "Ingress")
    annotations = ingress["metadata"]["annotations"]
    assert not [key for key in annotations if key.startswith("nginx.ingress.kubernetes.io/auth-")]
    assert "renders none of its settings" in annotations["portal.io/sign-in"]


def test_one_ingress_rule_per_hostname():
    svc = snapshot(mesh=False, level="internal", hostnames=("a.internal.example.com", "b.internal.example.com"))
    ingress = spec(svc, "Ingress")
    assert [rule["host"] for rule in ingress["rules"]] == ["a.internal.example.com", "b.internal.example.com"]
    assert spec(svc, "Certificate")["dnsNames"] == ["a.internal.example.com", "b.internal.example.com"]


def test_mesh_services_get_no_ingress():
    assert "Ingress" not in kinds(SCENARIOS["internal-same-metrics-port"])


# --- DestinationRule -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "simple"),
    [("round_robin", "ROUND_ROBIN"), ("least_request", "LEAST_REQUEST"), ("random", "RANDOM")],
)
def test_simple_load_balancers(choice, simple):
    policy = spec(snapshot(load_balancer=choice), "DestinationRule")["trafficPolicy"]
    assert policy == {"loadBalancer": {"simple": simple}, "tls": {"mode": "ISTIO_MUTUAL"}}


@pytest.mark.parametrize(
    ("hash_on", "consistent_hash"),
    [
        ("source_ip", {"useSourceIp": True}),
        ("header:X-User-Id", {"httpHeaderName": "x-user-id"}),
        ("cookie:Session", {"httpCookie": {"name": "Session", "ttl": "0s"}}),
    ],
)
def test_consistent_hash_keys(hash_on, consistent_hash):
    svc = snapshot(load_balancer="consistent_hash", hash_on=hash_on)
    assert spec(svc, "DestinationRule")["trafficPolicy"]["loadBalancer"] == {"consistentHash": consistent_hash}


def test_tcp_hashes_on_source_ip():
    policy = spec(SCENARIOS["tcp"], "DestinationRule")["trafficPolicy"]
    assert policy["loadBalancer"] == {"consistentHash": {"useSourceIp": True}}


def test_destination_rule_targets_the_mesh_host_with_mesh_mtls():
    dr = spec(snapshot(), "DestinationRule")
    assert dr["host"] == MESH_HOST
    assert dr["trafficPolicy"]["tls"] == {"mode": "ISTIO_MUTUAL"}
    assert "subsets" not in dr


def test_canary_subsets_by_version_label():
    dr = spec(snapshot(canary=Canary(version="v2", weight=10)), "DestinationRule")
    assert dr["subsets"] == [
        {"name": "stable", "labels": {"version": "v1"}},
        {"name": "canary", "labels": {"version": "v2"}},
    ]


def test_outlier_detection():
    svc = snapshot(
        outlier_detection=OutlierDetection(
            consecutive_5xx=7, interval_seconds=10, base_ejection_seconds=30, max_ejection_percent=40
        )
    )
    assert spec(svc, "DestinationRule")["trafficPolicy"]["outlierDetection"] == {
        "consecutive5xxErrors": 7,
        "interval": "10s",
        "baseEjectionTime": "30s",
        "maxEjectionPercent": 40,
    }


def test_connection_pool_with_every_limit():
    pool = spec(SCENARIOS["external-full"], "DestinationRule")["trafficPolicy"]["connectionPool"]
    assert pool == {"tcp": {"maxConnections": 100}, "http": {"http1MaxPendingRequests": 10, "http2MaxRequests": 1000}}


def test_connection_pool_leaves_out_unset_sections():
    svc = snapshot(connection_pool=ConnectionPool(max_connections=50))
    assert spec(svc, "DestinationRule")["trafficPolicy"]["connectionPool"] == {"tcp": {"maxConnections": 50}}
    svc = snapshot(connection_pool=ConnectionPool(http2_max_requests=500))
    assert spec(svc, "DestinationRule")["trafficPolicy"]["connectionPool"] == {"http": {"http2MaxRequests": 500}}


# --- VirtualService ------------------------------------------------------------------------------------------------


def test_mesh_only_binds_only_the_mesh_gateway():
    vs = spec(snapshot(), "VirtualService")
    assert vs["hosts"] == [MESH_HOST]
    assert vs["gateways"] == ["mesh"]
    assert vs["http"] == [
        {"name": "default", "route": [{"destination": {"host": MESH_HOST, "port": {"number": 8080}}}]}
    ]


@pytest.mark.parametrize(
    ("level", "host", "gateway"),
    [("internal", "pay.internal.example.com", INTERNAL_GATEWAY), ("external", "pay.example.com", EXTERNAL_GATEWAY)],
)
def test_exposed_service_binds_its_levels_gateway(level, host, gateway):
    vs = spec(snapshot(level=level, hostnames=(host,)), "VirtualService")
    assert vs["hosts"] == [MESH_HOST, host]
    assert vs["gateways"] == ["mesh", gateway]
    assert "match" not in vs["http"][-1]


def test_canary_weights_90_10():
    vs = spec(snapshot(canary=Canary(version="v2", weight=10)), "VirtualService")
    assert vs["http"][-1]["route"] == [
        {"destination": {"host": MESH_HOST, "port": {"number": 8080}, "subset": "stable"}, "weight": 90},
        {"destination": {"host": MESH_HOST, "port": {"number": 8080}, "subset": "canary"}, "weight": 10},
    ]


@pytest.mark.parametrize("match", ["exact", "prefix", "regex"])
def test_header_routes_come_before_the_default_route(match):
    route = Route(header="user-agent", match=match, value="Mobile", target="payments-sp")
    http = spec(snapshot(routes=(route,)), "VirtualService")["http"]
    assert http[0] == {
        "name": "route-0-payments-sp",
        "match": [{"headers": {"user-agent": {match: "Mobile"}}}],
        "route": [{"destination": {"host": "payments-sp.payments-sp.svc.cluster.local"}}],
    }
    assert http[1]["name"] == "default"


def test_header_routes_name_the_targets_main_port_when_known():
    route = Route("user-agent", "regex", ".*Mobile.*", "payments-sp", target_port=3000)
    http = spec(snapshot(routes=(route,)), "VirtualService")["http"]
    assert http[0]["route"] == [
        {"destination": {"host": "payments-sp.payments-sp.svc.cluster.local", "port": {"number": 3000}}}
    ]


def test_header_routes_keep_their_catalog_order():
    routes = (
        Route("user-agent", "regex", ".*Mobile.*", "payments-sp"),
        Route("host", "exact", "beta.example.com", "payments-beta"),
    )
    http = spec(snapshot(routes=routes), "VirtualService")["http"]
    assert [r["name"] for r in http] == ["route-0-payments-sp", "route-1-payments-beta", "default"]


def test_paths_restrict_gateway_traffic_but_not_mesh_traffic():
    http = spec(SCENARIOS["external-full"], "VirtualService")["http"]
    header, default = http
    assert default["match"] == [
        {"gateways": [EXTERNAL_GATEWAY], "uri": {"prefix": "/api"}},
        {"gateways": [EXTERNAL_GATEWAY], "uri": {"prefix": "/docs"}},
        {"gateways": ["mesh"]},
    ]
    mobile = {"user-agent": {"regex": ".*Mobile.*"}}
    assert header["match"] == [
        {"gateways": [EXTERNAL_GATEWAY], "headers": mobile, "uri": {"prefix": "/api"}},
        {"gateways": [EXTERNAL_GATEWAY], "headers": mobile, "uri": {"prefix": "/docs"}},
        {"gateways": ["mesh"], "headers": mobile},
    ]


def test_root_among_the_paths_means_no_path_match():
    svc = snapshot(level="internal", hostnames=("pay.internal.example.com",), paths=("/", "/api"))
    assert "match" not in spec(svc, "VirtualService")["http"][-1]


def test_paths_of_a_mesh_only_service_do_not_restrict():
    assert "match" not in spec(snapshot(paths=("/api",)), "VirtualService")["http"][-1]


def test_timeout_and_retries():
    svc = snapshot(timeout_seconds=5.0, retries=Retries(attempts=3, retry_on="5xx,reset", per_try_timeout_seconds=2))
    default = spec(svc, "VirtualService")["http"][-1]
    assert default["timeout"] == "5s"
    assert default["retries"] == {"attempts": 3, "perTryTimeout": "2s", "retryOn": "5xx,reset"}


def test_fractional_timeouts_in_milliseconds_and_per_try_timeout_optional():
    svc = snapshot(timeout_seconds=2.5, retries=Retries(attempts=2, retry_on="connect-failure"))
    default = spec(svc, "VirtualService")["http"][-1]
    assert default["timeout"] == "2500ms"
    assert default["retries"] == {"attempts": 2, "retryOn": "connect-failure"}


def test_no_timeout_or_retries_unless_set():
    default = spec(snapshot(), "VirtualService")["http"][-1]
    assert "timeout" not in default
    assert "retries" not in default


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5, "5s"), (5.0, "5s"), (60, "60s"), (2.5, "2500ms"), (0.001, "1ms"), (1.25, "1250ms"), (0.1 + 0.2, "300ms")],
)
def test_duration_format(seconds, text):
    assert duration(seconds) == text


def test_tcp_service_routes_at_l4_with_canary_weights():
    vs = spec(SCENARIOS["tcp"], "VirtualService")
    assert "http" not in vs
    host = {"host": MESH_HOST, "port": {"number": 5432}}
    assert vs["tcp"] == [
        {
            "route": [
                {"destination": {**host, "subset": "stable"}, "weight": 90},
                {"destination": {**host, "subset": "canary"}, "weight": 10},
            ]
        }
    ]


def test_tcp_service_without_canary():
    vs = spec(snapshot(protocol="tcp", port=6379), "VirtualService")
    assert vs["tcp"] == [{"route": [{"destination": {"host": MESH_HOST, "port": {"number": 6379}}}]}]


# --- Security ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["STRICT", "PERMISSIVE"])
def test_peer_authentication_is_namespace_wide(mode):
    assert spec(snapshot(mtls=mode), "PeerAuthentication") == {"mtls": {"mode": mode}}


def test_no_authorization_policy_without_callers():
    assert "AuthorizationPolicy" not in kinds(snapshot())


def test_allowed_callers_gateway_and_separate_metrics_port():
    policy = spec(SCENARIOS["external-full"], "AuthorizationPolicy")
    assert policy == {
        "action": "ALLOW",
        "rules": [
            {
                "from": [
                    {
                        "source": {
                            "principals": [
                                "cluster.local/ns/billing/sa/billing",
                                "cluster.local/ns/checkout/sa/checkout",
                            ]
                        }
                    }
                ]
            },
            {"from": [{"source": {"principals": ["cluster.local/ns/istio-ingress/sa/istio-ingressgateway-external"]}}]},
            {"to": [{"operation": {"ports": ["9090"]}}]},
        ],
    }


def test_metrics_on_the_service_port_only_from_the_monitoring_namespace():
    rules = spec(SCENARIOS["internal-same-metrics-port"], "AuthorizationPolicy")["rules"]
    assert rules[1] == {
        "from": [{"source": {"principals": ["cluster.local/ns/istio-ingress/sa/istio-ingressgateway-internal"]}}]
    }
    assert rules[2] == {
        "from": [{"source": {"namespaces": ["monitoring"]}}],
        "to": [{"operation": {"ports": ["8080"], "methods": ["GET"], "paths": ["/metrics"]}}],
    }


def test_plain_text_scrapes_of_a_permissive_service_may_only_get_the_metrics_path():
    svc = snapshot(mtls="PERMISSIVE", metrics_path="/prometheus", allowed_callers=("checkout",))
    assert spec(svc, "AuthorizationPolicy")["rules"][-1] == {
        "to": [{"operation": {"ports": ["8080"], "methods": ["GET"], "paths": ["/prometheus"]}}],
    }


def test_mesh_only_service_does_not_allow_the_ingress_gateway():
    rules = spec(SCENARIOS["tcp"], "AuthorizationPolicy")["rules"]
    assert rules == [
        {"from": [{"source": {"principals": ["cluster.local/ns/checkout/sa/checkout"]}}]},
        {"to": [{"operation": {"ports": ["9187"]}}]},
    ]


@pytest.mark.parametrize("mode", ["STRICT", "PERMISSIVE"])
def test_tcp_metrics_on_the_service_port_need_the_monitoring_identity(mode):
    svc = snapshot(protocol="tcp", port=5432, metrics_port=5432, mtls=mode, allowed_callers=("checkout",))
    assert spec(svc, "AuthorizationPolicy")["rules"][-1] == {
        "from": [{"source": {"namespaces": ["monitoring"]}}],
        "to": [{"operation": {"ports": ["5432"]}}],
    }


# --- Telemetry -----------------------------------------------------------------------------------------------------


def test_telemetry_on():
    assert spec(snapshot(tracing_sampling_percent=10.0), "Telemetry") == {
        "accessLogging": [{"providers": [{"name": "envoy"}], "disabled": False}],
        "tracing": [{"providers": [{"name": "otel-tracing"}], "randomSamplingPercentage": 10.0}],
        "metrics": [{"providers": [{"name": "prometheus"}]}],
    }


def test_access_logging_off():
    telemetry = spec(SCENARIOS["external-full"], "Telemetry")
    assert telemetry["accessLogging"] == [{"providers": [{"name": "envoy"}], "disabled": True}]
    assert telemetry["tracing"][0]["randomSamplingPercentage"] == 12.5


def test_tracing_uses_the_platforms_provider():
    platform = PlatformSpec(otel_provider_name="otel-xray")
    (telemetry,) = [r.body for r in build_mesh(snapshot(), platform) if r.kind == "Telemetry"]
    assert telemetry["spec"]["tracing"][0]["providers"] == [{"name": "otel-xray"}]
