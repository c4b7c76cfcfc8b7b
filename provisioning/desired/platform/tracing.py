"""Traces to AWS X-Ray (seed §18-4): the OpenTelemetry Collector's configuration, as data.

Sidecars (meshConfig's OpenTelemetry provider) and applications send OTLP to the collector, which limits its
memory, batches and exports to X-Ray in the platform's region. The collector runs outside the mesh; its
Service is the host of ``platform.otel_collector_endpoint``, and it needs ``xray:PutTraceSegments`` and
``xray:PutTelemetryRecords`` (its own IAM role).
"""

from typing import Any

from provisioning import names
from provisioning.spec import PlatformSpec

from .objects import config_map, dump_yaml, namespace

COMPONENT = "opentelemetry-collector"
CONFIG_MAP = "opentelemetry-collector"
# The key the OpenTelemetry Collector chart reads an existing ConfigMap's configuration from.
CONFIG_KEY = "relay"

OTLP_GRPC = "0.0.0.0:4317"
OTLP_HTTP = "0.0.0.0:4318"
HEALTH_CHECK = "0.0.0.0:13133"


def collector_config(platform: PlatformSpec) -> dict[str, Any]:
    return {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": OTLP_GRPC}, "http": {"endpoint": OTLP_HTTP}}}},
        "processors": {
            # First in the pipeline: refuse data before the collector runs out of memory.
            "memory_limiter": {"check_interval": "1s", "limit_percentage": 80, "spike_limit_percentage": 25},
            "batch": {"timeout": "5s", "send_batch_size": 512},
        },
        "exporters": {"awsxray": {"region": platform.region}},
        "extensions": {"health_check": {"endpoint": HEALTH_CHECK}},
        "service": {
            "extensions": ["health_check"],
            "pipelines": {
                "traces": {"receivers": ["otlp"], "processors": ["memory_limiter", "batch"], "exporters": ["awsxray"]}
            },
        },
    }


def build_tracing(platform: PlatformSpec) -> list[dict[str, Any]]:
    data = {CONFIG_KEY: dump_yaml(collector_config(platform))}
    return [
        namespace(names.OBSERVABILITY_NAMESPACE, COMPONENT, mesh=False),
        config_map(CONFIG_MAP, names.OBSERVABILITY_NAMESPACE, COMPONENT, data),
    ]
