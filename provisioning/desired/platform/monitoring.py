"""Metrics, alerts and their consoles (seed §18-3, §19): Prometheus, Alertmanager, Grafana and Kiali settings.

- ``Prometheus`` selects ServiceMonitors, PodMonitors and PrometheusRules by the portal's own label
  (``app.kubernetes.io/managed-by: platform-portal``) in every namespace. Its pods get an Istio sidecar that
  only writes the workload certificate to a shared in-memory volume (Istio's documented set-up for the
  operator: no traffic is intercepted), mounted at ``ISTIO_CERTS_DIR`` where the ServiceMonitors of STRICT-mTLS
  services point their TLS config.
- A ``PodMonitor`` scrapes every Envoy (sidecars and gateways) on ``http-envoy-prom`` (15090,
  ``/stats/prometheus``; never intercepted, so plain HTTP even under STRICT mTLS): the SLO rules read
  ``istio_requests_total`` and ``istio_request_duration_milliseconds_bucket`` from there.
- ``Alertmanager`` takes every AlertmanagerConfig with the portal's label, each matching only alerts of its own
  namespace (``OnNamespace``). No global Slack URL: each service's config carries its receivers' URLs in its
  own Secret.
- VictoriaMetrics is the long-term store when the platform names it: Prometheus remote-writes every sample there
  (queue sized for a cluster's worth of series, retrying on rate limits) and keeps only ``LOCAL_RETENTION``
  itself, enough for the longest window its rules read (the 3d burn-rate window) plus a day; without it
  Prometheus keeps ``RETENTION``. VictoriaMetrics' own ``-retentionPeriod`` (its installation's) sets the long term.
- Grafana: a data-source ConfigMap (label ``grafana_datasource``) and the dashboard provider (the Grafana
  release's values, ``releases.py``) reading the folder the dashboard sidecar fills from ConfigMaps labelled
  ``grafana_dashboard: "1"`` (the services' dashboards), one Grafana folder per ``grafana_folder`` annotation.
- Kiali (its server configuration is the values of the Kiali release, ``releases.py``): behind OAuth2 Proxy like
  Prometheus and Alertmanager (seed §16 counts it among the tools without SSO; ``consoles.py``), so it asks for no
  sign-in itself (``anonymous``) and is read-only (the portal is the source of truth for Istio configuration),
  reading the cluster with its own ServiceAccount. Traces are in X-Ray, which Kiali cannot query (it reads Jaeger
  or Tempo): its tracing integration stays off.
"""

import json
from typing import Any

from provisioning import names
from provisioning.desired.prometheus import ISTIO_CERTS_DIR, MONITORING_API
from provisioning.spec import PlatformSpec

from .objects import config_map, dump_yaml, metadata, service_account

PROMETHEUS = "platform"
ALERTMANAGER = "platform"
PROMETHEUS_SERVICE_ACCOUNT = "prometheus"
PROMETHEUS_CLUSTER_ROLE = "platform-prometheus"
# The operator's governing Services of every Prometheus and Alertmanager of a namespace.
PROMETHEUS_SERVICE, PROMETHEUS_PORT = "prometheus-operated", 9090
ALERTMANAGER_SERVICE, ALERTMANAGER_PORT = "alertmanager-operated", 9093
ENVOY_STATS_MONITOR = "envoy-stats"
ENVOY_STATS_PORT = "http-envoy-prom"  # 15090 in every Istio proxy

# Where the Istio sidecar writes the workload certificate inside the Prometheus pod (shared volume).
ISTIO_OUTPUT_CERTS = "/etc/istio-output-certs"
ISTIO_CERTS_VOLUME = "istio-certs"

RETENTION = "15d"
LOCAL_RETENTION = "4d"
VICTORIAMETRICS_QUEUE = {
    "capacity": 10000,
    "minShards": 1,
    "maxShards": 30,
    "maxSamplesPerSend": 5000,
    "batchSendDeadline": "5s",
    "minBackoff": "30ms",
    "maxBackoff": "5s",
    "retryOnRateLimit": True,
}

GRAFANA_SERVICE = "grafana"
GRAFANA_DASHBOARD_DIR = "/tmp/dashboards"  # noqa: S108 -- the dashboard sidecar's folder (chart default)
KIALI_PORT = 20001


def portal_selector() -> dict[str, Any]:
    """Everything the portal renders carries this label: the services' monitors, rules, routes and the PodMonitor."""
    return {"matchLabels": {names.LABEL_MANAGED_BY: names.MANAGED_BY}}


def in_cluster_url(service: str, namespace: str, port: int) -> str:
    return f"http://{service}.{namespace}.svc.{names.CLUSTER_DOMAIN}:{port}"


def prometheus_url(platform: PlatformSpec) -> str:
    return in_cluster_url(PROMETHEUS_SERVICE, platform.monitoring_namespace, PROMETHEUS_PORT)


def alertmanager_url(platform: PlatformSpec) -> str:
    return in_cluster_url(ALERTMANAGER_SERVICE, platform.monitoring_namespace, ALERTMANAGER_PORT)


# --- Prometheus -------------------------------------------------------------------------------------------------


def prometheus_access(platform: PlatformSpec) -> list[dict[str, Any]]:
    """Prometheus's identity and the cluster-wide read access service discovery needs."""
    rbac = "rbac.authorization.k8s.io/v1"
    role = {
        "apiVersion": rbac,
        "kind": "ClusterRole",
        "metadata": metadata(PROMETHEUS_CLUSTER_ROLE, "prometheus"),
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["nodes", "nodes/metrics", "services", "endpoints", "pods"],
                "verbs": ["get", "list", "watch"],
            },
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": ["get", "list", "watch"]},
            {"nonResourceURLs": ["/metrics"], "verbs": ["get"]},
        ],
    }
    binding = {
        "apiVersion": rbac,
        "kind": "ClusterRoleBinding",
        "metadata": metadata(PROMETHEUS_CLUSTER_ROLE, "prometheus"),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": PROMETHEUS_CLUSTER_ROLE},
        "subjects": [
            {"kind": "ServiceAccount", "name": PROMETHEUS_SERVICE_ACCOUNT, "namespace": platform.monitoring_namespace}
        ],
    }
    return [service_account(PROMETHEUS_SERVICE_ACCOUNT, platform.monitoring_namespace, "prometheus"), role, binding]


def istio_certificate_sidecar() -> dict[str, Any]:
    """Pod metadata giving Prometheus a sidecar that intercepts nothing and writes its certificate out."""
    proxy_config = {"proxyMetadata": {"OUTPUT_CERTS": ISTIO_OUTPUT_CERTS}}
    mounts = [{"name": ISTIO_CERTS_VOLUME, "mountPath": ISTIO_OUTPUT_CERTS}]
    return {
        "labels": {"sidecar.istio.io/inject": "true"},
        "annotations": {
            "traffic.sidecar.istio.io/includeInboundPorts": "",
            "traffic.sidecar.istio.io/includeOutboundIPRanges": "",
            "proxy.istio.io/config": dump_yaml(proxy_config),
            "sidecar.istio.io/userVolumeMount": json.dumps(mounts),
        },
    }


def prometheus(platform: PlatformSpec) -> dict[str, Any]:
    # An empty namespace selector selects every namespace.
    return {
        "apiVersion": MONITORING_API,
        "kind": "Prometheus",
        "metadata": metadata(PROMETHEUS, "prometheus", platform.monitoring_namespace),
        "spec": {
            "replicas": 2,
            "serviceAccountName": PROMETHEUS_SERVICE_ACCOUNT,
            "retention": LOCAL_RETENTION if platform.victoriametrics_write_url else RETENTION,
            "scrapeInterval": "30s",
            "evaluationInterval": "30s",
            "serviceMonitorSelector": portal_selector(),
            "serviceMonitorNamespaceSelector": {},
            "podMonitorSelector": portal_selector(),
            "podMonitorNamespaceSelector": {},
            "ruleSelector": portal_selector(),
            "ruleNamespaceSelector": {},
            "alerting": {
                "alertmanagers": [
                    {
                        "namespace": platform.monitoring_namespace,
                        "name": ALERTMANAGER_SERVICE,
                        "port": "web",
                        "apiVersion": "v2",
                    }
                ]
            },
            **remote_write(platform),
            "podMetadata": istio_certificate_sidecar(),
            "volumes": [{"name": ISTIO_CERTS_VOLUME, "emptyDir": {"medium": "Memory"}}],
            "volumeMounts": [{"name": ISTIO_CERTS_VOLUME, "mountPath": ISTIO_CERTS_DIR, "readOnly": True}],
        },
    }


def remote_write(platform: PlatformSpec) -> dict[str, Any]:
    """Every sample to VictoriaMetrics, when the platform has it."""
    if not platform.victoriametrics_write_url:
        return {}
    target = {"name": "victoriametrics", "url": platform.victoriametrics_write_url}
    return {"remoteWrite": [{**target, "queueConfig": dict(VICTORIAMETRICS_QUEUE)}]}


def envoy_stats_monitor(platform: PlatformSpec) -> dict[str, Any]:
    """Every Istio proxy's own metrics, where Istio's standard request metrics come from."""
    return {
        "apiVersion": MONITORING_API,
        "kind": "PodMonitor",
        "metadata": metadata(ENVOY_STATS_MONITOR, "prometheus", platform.monitoring_namespace),
        "spec": {
            "selector": {},
            "namespaceSelector": {"any": True},
            "podMetricsEndpoints": [{"port": ENVOY_STATS_PORT, "path": "/stats/prometheus", "interval": "30s"}],
        },
    }


# --- Alertmanager -----------------------------------------------------------------------------------------------


def alertmanager(platform: PlatformSpec) -> dict[str, Any]:
    return {
        "apiVersion": MONITORING_API,
        "kind": "Alertmanager",
        "metadata": metadata(ALERTMANAGER, "alertmanager", platform.monitoring_namespace),
        "spec": {
            "replicas": 2,
            "alertmanagerConfigSelector": portal_selector(),
            "alertmanagerConfigNamespaceSelector": {},
            "alertmanagerConfigMatcherStrategy": {"type": "OnNamespace"},
        },
    }


# --- Grafana ----------------------------------------------------------------------------------------------------


def victoriametrics_datasource(platform: PlatformSpec) -> list[dict[str, Any]]:
    """The long-term store, queried like Prometheus (VictoriaMetrics speaks its query API)."""
    if not platform.victoriametrics_query_url:
        return []
    return [
        {
            "name": "VictoriaMetrics",
            "type": "prometheus",
            "uid": "victoriametrics",
            "access": "proxy",
            "url": platform.victoriametrics_query_url,
        }
    ]


def dashboard_provider() -> dict[str, Any]:
    """How Grafana loads the dashboards its sidecar collects (the Grafana release's sidecar provider)."""
    return {
        "name": "portal",
        "orgId": 1,
        "type": "file",
        "disableDeletion": False,
        "allowUiUpdates": False,
        "updateIntervalSeconds": 30,
        "options": {"path": GRAFANA_DASHBOARD_DIR, "foldersFromFilesStructure": True},
    }


def grafana_config(platform: PlatformSpec) -> list[dict[str, Any]]:
    """Data sources for the Grafana sidecar (the Grafana release's values say how dashboards are loaded)."""
    datasources = {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus",
                "type": "prometheus",
                "uid": "prometheus",
                "access": "proxy",
                "url": prometheus_url(platform),
                "isDefault": True,
            },
            {
                "name": "Alertmanager",
                "type": "alertmanager",
                "uid": "alertmanager",
                "access": "proxy",
                "url": alertmanager_url(platform),
                "jsonData": {"implementation": "prometheus"},
            },
            *victoriametrics_datasource(platform),
        ],
    }
    ns = platform.monitoring_namespace
    return [
        config_map(
            "grafana-datasources",
            ns,
            "grafana",
            {"datasources.yaml": dump_yaml(datasources)},
            labels={names.LABEL_GRAFANA_DATASOURCE: "1"},
        ),
    ]


# --- Kiali ------------------------------------------------------------------------------------------------------


def kiali_config(platform: PlatformSpec) -> dict[str, Any]:
    root = platform.istio_root_namespace
    return {
        # OAuth2 Proxy admits only SREs before a request reaches Kiali.
        "auth": {"strategy": "anonymous"},
        "deployment": {"namespace": root, "view_only_mode": True},
        "istio_namespace": root,
        "server": {"port": KIALI_PORT, "web_root": "/"},
        "external_services": {
            "istio": {"root_namespace": root},
            "prometheus": {"url": prometheus_url(platform)},
            "grafana": {
                "enabled": True,
                "internal_url": f"http://{GRAFANA_SERVICE}.{platform.monitoring_namespace}.svc.{names.CLUSTER_DOMAIN}",
                "external_url": platform.grafana_url,
            },
            "tracing": {"enabled": False},
        },
    }


def build_monitoring_stack(platform: PlatformSpec) -> list[dict[str, Any]]:
    return [
        *prometheus_access(platform),
        prometheus(platform),
        envoy_stats_monitor(platform),
        alertmanager(platform),
        *grafana_config(platform),
    ]
