"""Mesh-wide configuration (seed §17, §18): meshConfig's extension providers, default Telemetry, STRICT mTLS.

meshConfig is the ``mesh`` key of the ``istio`` ConfigMap in the Istio root namespace. The portal owns that
ConfigMap, so istiod is installed without its own (the istiod chart's ``pilot.configMap=false``) and the file
states what the chart would otherwise have filled in: the root namespace, the trust domain the services'
SPIFFE principals use (``names.principal``) and where proxies find istiod.

The providers are the ones the services' Telemetry objects name (``desired/istio.py``): Envoy's JSON access
log on stdout (Fluent Bit ships it with the container's logs; the 5xx metric filter of ``desired/aws.py`` reads
its ``response_code``, ``authority`` and ``upstream_cluster``), Istio's Prometheus metrics, and OpenTelemetry
tracing to the collector (``platform.otel_provider_name`` -> ``platform.otel_collector_endpoint``).
"""

from typing import Any

from provisioning import names
from provisioning.desired.istio import ACCESS_LOG_PROVIDER, METRICS_PROVIDER, SECURITY, TELEMETRY
from provisioning.spec import PlatformSpec

from .objects import config_map, dump_yaml, metadata, split_endpoint

COMPONENT = "istio"

MESH_CONFIG_MAP = "istio"
MESH_CONFIG_KEY = "mesh"
MESH_DEFAULT = "mesh-default"
OTLP_GRPC_PORT = 4317
ISTIOD_XDS_PORT = 15012
# The mesh's default trace sampling; each service's Telemetry overrides it with its own percentage.
DEFAULT_SAMPLING_PERCENT = 1.0

# Envoy's JSON access log: a value that is a single command operator keeps its type (response_code is a number).
ACCESS_LOG_FIELDS = {
    "start_time": "%START_TIME%",
    "authority": "%REQ(:AUTHORITY)%",
    "method": "%REQ(:METHOD)%",
    "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
    "protocol": "%PROTOCOL%",
    "response_code": "%RESPONSE_CODE%",
    "response_flags": "%RESPONSE_FLAGS%",
    "grpc_status": "%GRPC_STATUS%",
    "duration": "%DURATION%",
    "bytes_received": "%BYTES_RECEIVED%",
    "bytes_sent": "%BYTES_SENT%",
    "upstream_cluster": "%UPSTREAM_CLUSTER%",
    "upstream_host": "%UPSTREAM_HOST%",
    "downstream_remote_address": "%DOWNSTREAM_REMOTE_ADDRESS%",
    "x_forwarded_for": "%REQ(X-FORWARDED-FOR)%",
    "user_agent": "%REQ(USER-AGENT)%",
    "request_id": "%REQ(X-REQUEST-ID)%",
    "traceparent": "%REQ(TRACEPARENT)%",
}


def otel_service(platform: PlatformSpec) -> tuple[str, int]:
    """The collector's host and OTLP/gRPC port, from the ``host:port`` setting."""
    return split_endpoint(platform.otel_collector_endpoint, OTLP_GRPC_PORT)


def extension_providers(platform: PlatformSpec) -> list[dict[str, Any]]:
    host, port = otel_service(platform)
    return [
        {
            "name": ACCESS_LOG_PROVIDER,
            "envoyFileAccessLog": {"path": "/dev/stdout", "logFormat": {"labels": dict(ACCESS_LOG_FIELDS)}},
        },
        {"name": METRICS_PROVIDER, "prometheus": {}},
        {"name": platform.otel_provider_name, "opentelemetry": {"service": host, "port": port}},
    ]


def mesh_config(platform: PlatformSpec) -> dict[str, Any]:
    root = platform.istio_root_namespace
    return {
        "rootNamespace": root,
        "trustDomain": names.CLUSTER_DOMAIN,
        "defaultConfig": {"discoveryAddress": f"istiod.{root}.svc:{ISTIOD_XDS_PORT}"},
        "extensionProviders": extension_providers(platform),
    }


def mesh_config_map(platform: PlatformSpec) -> dict[str, Any]:
    data = {MESH_CONFIG_KEY: dump_yaml(mesh_config(platform))}
    return config_map(MESH_CONFIG_MAP, platform.istio_root_namespace, COMPONENT, data)


def mesh_telemetry(platform: PlatformSpec) -> dict[str, Any]:
    """The default of every workload: access logs, Prometheus metrics, 1 % of requests traced."""
    return {
        "apiVersion": TELEMETRY,
        "kind": "Telemetry",
        "metadata": metadata(MESH_DEFAULT, COMPONENT, platform.istio_root_namespace),
        "spec": {
            "accessLogging": [{"providers": [{"name": ACCESS_LOG_PROVIDER}]}],
            "metrics": [{"providers": [{"name": METRICS_PROVIDER}]}],
            "tracing": [
                {
                    "providers": [{"name": platform.otel_provider_name}],
                    "randomSamplingPercentage": DEFAULT_SAMPLING_PERCENT,
                }
            ],
        },
    }


def mesh_peer_authentication(platform: PlatformSpec) -> dict[str, Any]:
    """Mutual TLS everywhere unless a namespace says otherwise (each service's own PeerAuthentication)."""
    return {
        "apiVersion": SECURITY,
        "kind": "PeerAuthentication",
        "metadata": metadata("default", COMPONENT, platform.istio_root_namespace),
        "spec": {"mtls": {"mode": "STRICT"}},
    }


def build_mesh_config(platform: PlatformSpec) -> list[dict[str, Any]]:
    return [mesh_config_map(platform), mesh_telemetry(platform), mesh_peer_authentication(platform)]
