"""The cluster itself, watched (seed §18-3): PodMonitors of the cluster's components and the platform's alerts.

Each PodMonitor selects the pods by the labels their chart sets and scrapes the container port their chart names
(PodMonitors select pods, which no manifest set holds, so these are stated here rather than checked by
``analyze``); the scrape job takes the pods' ``app.kubernetes.io/name`` (istiod's: ``app``):

- kube-state-metrics (its release, ``releases.py``): ``app.kubernetes.io/name: kube-state-metrics``, port ``http``;
- node-exporter (its release): ``app.kubernetes.io/name: prometheus-node-exporter``, port ``metrics``;
- CoreDNS (EKS's add-on): ``k8s-app: kube-dns`` in ``kube-system``, port ``metrics`` (9153);
- istiod (Istio's chart): ``app: istiod`` in the Istio root namespace, port 15014;
- Karpenter (its chart): ``app.kubernetes.io/name: karpenter``, port ``http-metrics``.

kube-state-metrics' series keep their own ``namespace`` (the object's, not the exporter pod's: ``honorLabels``),
which the services' endpoint alerts and the gateways' availability alert select on.

The kubelets (and their cAdvisor) are scraped through the ``kube-system/kubelet`` Service the Prometheus operator
maintains (``kubeletService`` in its release's values): one Endpoints address per node, HTTPS on 10250 with
Prometheus's ServiceAccount token (its ClusterRole grants ``nodes/metrics``).

The ingress gateways' Envoys are scraped by the ``envoy-stats`` PodMonitor (``monitoring.py``); their
availability is read from kube-state-metrics.

The platform's alerts are routed like a service's: each carries the SRE team (``team``) and the monitoring
namespace as static labels (the series' own namespace, which varies, stays in the description), and the monitoring
namespace's AlertmanagerConfig (``alerting.build_platform_alerting``) sends them to the SRE team's Slack channel
and incident tool, with the SRE team's pair on call in every alert's annotations and Slack message. The on-call
refresh re-applies the platform scope when that pair changes. Without an SRE team they reach no one (``analyze``
warns PA012).
"""

from typing import Any

from provisioning import names
from provisioning.desired.alerting import build_platform_alerting
from provisioning.desired.prometheus import MONITORING_API, SEVERITY_PAGE, go_text, oncall_annotations
from provisioning.resources import Resource
from provisioning.spec import PlatformSpec

from .objects import metadata
from .releases import KUBE_STATE_METRICS, KUBE_STATE_METRICS_PORT, NODE_EXPORTER, NODE_EXPORTER_PORT

COMPONENT = "cluster-monitoring"
RULES = "platform-cluster"

# The kubelet Service the operator keeps (its labels and HTTPS port), and where a pod finds its token and CA.
KUBELET = "kubelet"
KUBELET_SERVICE_LABELS = {names.LABEL_NAME: KUBELET, "k8s-app": KUBELET}
KUBELET_PORT_NAME, KUBELET_PORT = "https-metrics", 10250
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def pod_monitor(
    platform: PlatformSpec,
    name: str,
    labels: dict[str, str],
    port: dict[str, Any],
    namespaces: list[str] | None,
    *,
    honor_labels: bool = False,
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
            "podMetricsEndpoints": [{**port, "interval": "30s", **({"honorLabels": True} if honor_labels else {})}],
        },
    }


def kubelet_monitor(platform: PlatformSpec) -> dict[str, Any]:
    """The kubelets' own metrics and their cAdvisor's (containers' CPU, memory, throttling), per node."""
    endpoint = {
        "port": KUBELET_PORT_NAME,
        "scheme": "https",
        "interval": "30s",
        "honorLabels": True,
        "bearerTokenFile": f"{SERVICE_ACCOUNT_DIR}/token",
        # The kubelets' serving certificates are self-signed per node unless serverTLSBootstrap is on.
        "tlsConfig": {"caFile": f"{SERVICE_ACCOUNT_DIR}/ca.crt", "insecureSkipVerify": True},
        "relabelings": [{"sourceLabels": ["__metrics_path__"], "targetLabel": "metrics_path"}],
    }
    return {
        "apiVersion": MONITORING_API,
        "kind": "ServiceMonitor",
        "metadata": metadata(KUBELET, COMPONENT, platform.monitoring_namespace),
        "spec": {
            "jobLabel": "k8s-app",
            "selector": {"matchLabels": dict(KUBELET_SERVICE_LABELS)},
            "namespaceSelector": {"matchNames": ["kube-system"]},
            "endpoints": [endpoint, {**endpoint, "path": "/metrics/cadvisor"}],
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
            honor_labels=True,
        ),
        pod_monitor(platform, NODE_EXPORTER, {names.LABEL_NAME: NODE_EXPORTER}, {"port": NODE_EXPORTER_PORT}, [ns]),
        pod_monitor(platform, "coredns", {"k8s-app": "kube-dns"}, {"port": "metrics"}, ["kube-system"]),
        pod_monitor(platform, "istiod", {"app": "istiod"}, {"portNumber": 15014}, [platform.istio_root_namespace]),
        pod_monitor(platform, "karpenter", {names.LABEL_NAME: "karpenter"}, {"port": "http-metrics"}, None),
        kubelet_monitor(platform),
    ]


def alert(name: str, expr: str, duration: str, summary: str, component: str, description: str = "") -> dict[str, Any]:
    rule: dict[str, Any] = {
        "alert": name,
        "expr": expr,
        "for": duration,
        "labels": {"severity": SEVERITY_PAGE, "scope": "platform", "service": component},
        "annotations": {"summary": summary},
    }
    if description:
        rule["annotations"]["description"] = description
    return rule


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
            "Node {{ $labels.node }} has not been Ready for 5 minutes.",
        ),
        alert(
            "KubeletDown",
            f'absent(up{{job="{KUBELET}",metrics_path="/metrics"}} == 1)',
            "10m",
            "No kubelet is scraped: node, volume and container (cAdvisor) metrics are gone",
            KUBELET,
        ),
        alert(
            "PlatformTargetDown",
            f'up{{job=~"{NODE_EXPORTER}|coredns|istiod|karpenter|{KUBELET}"}} == 0',
            "10m",
            "A scrape target of the platform's components is down",
            "platform",
            "{{ $labels.job }} at {{ $labels.instance }} (namespace {{ $labels.namespace }}) has been down for 10 "
            "minutes.",
        ),
        alert(
            "IngressGatewayUnavailable",
            f'kube_deployment_status_replicas_available{{namespace="{ingress}",deployment=~"istio-ingressgateway-.*"}}'
            " == 0",
            "2m",
            "An ingress gateway has no available replica: its exposure level is down",
            "ingress-gateway",
            "{{ $labels.deployment }} in {{ $labels.namespace }} has no available replica.",
        ),
    ]
    if platform.sre_team:
        routing = {"namespace": platform.monitoring_namespace, "team": go_text(platform.sre_team)}
        for rule in rules:
            rule["labels"] |= routing
            rule["annotations"] |= oncall_annotations(platform.sre_oncall)
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


def build_cluster_alert_routing(platform: PlatformSpec) -> list[Resource]:
    """The SRE team's receivers Secret and AlertmanagerConfig in the monitoring namespace."""

    def routing_metadata(name: str) -> dict[str, Any]:
        return metadata(name, COMPONENT, platform.monitoring_namespace)

    return build_platform_alerting(platform, routing_metadata)
