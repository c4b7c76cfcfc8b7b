"""The cluster itself, watched (seed §18-3): PodMonitors of the cluster's components and the platform's alerts.

Each PodMonitor selects the pods by the labels their chart sets and scrapes the container port their chart names
(PodMonitors select pods, which no manifest set holds, so these are stated here rather than checked by
``analyze``); the scrape job takes the pods' ``app.kubernetes.io/name`` (istiod's: ``app``):

- kube-state-metrics (its release, ``releases.py``): ``app.kubernetes.io/name: kube-state-metrics``, port ``http``;
- node-exporter (its release): ``app.kubernetes.io/name: prometheus-node-exporter``, port ``metrics``;
- CoreDNS (EKS's add-on): ``k8s-app: kube-dns`` in ``kube-system``, port ``metrics`` (9153);
- istiod (Istio's chart): ``app: istiod`` in the Istio root namespace, port 15014;
- Karpenter (its chart): ``app.kubernetes.io/name: karpenter``, port ``http-metrics``.

The ingress gateways' Envoys are scraped by the ``envoy-stats`` PodMonitor (``monitoring.py``); their
availability is read from kube-state-metrics.
"""

from typing import Any

from provisioning import names
from provisioning.desired.prometheus import MONITORING_API, SEVERITY_PAGE
from provisioning.spec import PlatformSpec

from .objects import metadata
from .releases import KUBE_STATE_METRICS, KUBE_STATE_METRICS_PORT, NODE_EXPORTER, NODE_EXPORTER_PORT

COMPONENT = "cluster-monitoring"
RULES = "platform-cluster"


def pod_monitor(
    platform: PlatformSpec, name: str, labels: dict[str, str], port: dict[str, Any], namespaces: list[str] | None
) -> dict[str, Any]:
    job_label = "app" if "app" in labels else names.LABEL_NAME
    namespace_selector = {"matchNames": namespaces} if namespaces else {"any": True}
    return {
        "apiVersion": MONITORING_API,
        "kind": "PodMonitor",
        "metadata": metadata(name, COMPONENT, platform.monitoring_namespace),
        "spec": {
            "jobLabel": job_label,
            "selector": {"matchLabels": labels},
            "namespaceSelector": namespace_selector,
            "podMetricsEndpoints": [{**port, "interval": "30s"}],
        },
    }


def monitors(platform: PlatformSpec) -> list[dict[str, Any]]:
    ns = platform.monitoring_namespace
    return [
        pod_monitor(
            platform,
            KUBE_STATE_METRICS,
            {names.LABEL_NAME: KUBE_STATE_METRICS},
            {"port": KUBE_STATE_METRICS_PORT},
            [ns],
        ),
        pod_monitor(platform, NODE_EXPORTER, {names.LABEL_NAME: NODE_EXPORTER}, {"port": NODE_EXPORTER_PORT}, [ns]),
        pod_monitor(platform, "coredns", {"k8s-app": "kube-dns"}, {"port": "metrics"}, ["kube-system"]),
        pod_monitor(platform, "istiod", {"app": "istiod"}, {"portNumber": 15014}, [platform.istio_root_namespace]),
        pod_monitor(platform, "karpenter", {names.LABEL_NAME: "karpenter"}, {"port": "http-metrics"}, None),
    ]


def alert(name: str, expr: str, duration: str, summary: str, component: str) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": duration,
        "labels": {"severity": SEVERITY_PAGE, "scope": "platform", "service": component},
        "annotations": {"summary": summary},
    }


def cluster_alerts(platform: PlatformSpec) -> list[dict[str, Any]]:
    ingress = platform.ingress_namespace
    rules = [
        alert(
            "KubeStateMetricsAbsent",
            f'absent(up{{job="{KUBE_STATE_METRICS}"}} == 1)',
            "5m",
            "kube-state-metrics is not scraped: the cluster's object metrics (and the alerts on them) are gone",
            KUBE_STATE_METRICS,
        ),
        alert(
            "NodeNotReady",
            'kube_node_status_condition{condition="Ready",status="true"} == 0',
            "5m",
            "A node is not Ready",
            "node",
        ),
        alert(
            "PlatformTargetDown",
            f'up{{job=~"{NODE_EXPORTER}|coredns|istiod|karpenter"}} == 0',
            "10m",
            "A scrape target of the platform's components is down",
            "platform",
        ),
        alert(
            "IngressGatewayUnavailable",
            f'kube_deployment_status_replicas_available{{namespace="{ingress}",deployment=~"istio-ingressgateway-.*"}}'
            " == 0",
            "2m",
            "An ingress gateway has no available replica: its exposure level is down",
            "ingress-gateway",
        ),
    ]
    if platform.sre_team:
        for rule in rules:
            rule["labels"]["team"] = platform.sre_team
    return rules


def cluster_rules(platform: PlatformSpec) -> dict[str, Any]:
    return {
        "apiVersion": MONITORING_API,
        "kind": "PrometheusRule",
        "metadata": metadata(RULES, COMPONENT, platform.monitoring_namespace),
        "spec": {"groups": [{"name": "platform-cluster", "rules": cluster_alerts(platform)}]},
    }


def build_cluster_monitoring(platform: PlatformSpec) -> list[dict[str, Any]]:
    return [*monitors(platform), cluster_rules(platform)]
