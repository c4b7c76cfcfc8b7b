"""The platform's components, deployed (seed §16, §18): one Helm release each, managed by Argo CD.

Each component is an Argo CD ``Application`` in Argo CD's namespace: a chart of its upstream repository pinned to
a version, installed as a release of the component's name into the component's namespace, with its values
written inline (``spec.source.helm.valuesObject``). The values are data built from the same settings and
functions as the rest of the layer, so the plan shows a changed chart value as that field's change
(``spec.source.helm.valuesObject.controller.config.proxy-buffer-size``), and they name what the layer renders:

- configuration the layer renders as a ConfigMap stays there and the chart is told to use it (Fluent Bit's
  ``existingConfigMap``, the collector's ``configMap.existingName``, OAuth2 Proxy's ``config.existingConfig``);
  a digest of that configuration is a pod annotation, so a changed file rolls the pods;
- configuration a chart can only render itself comes from the layer's builders into the values and is not
  rendered a second time (Kiali's server configuration, Nginx's controller settings, Grafana's dashboard
  provider);
- every release's name is pinned (``fullnameOverride``) to the Service names the layer's other objects use: the
  collector's host in ``otel_collector_endpoint``, ``grafana`` in Kiali's configuration, the Nginx controller the
  internal gateway routes to, OAuth2 Proxy behind the tools' Ingresses, the pod labels the cluster's monitors
  select;
- a component that calls AWS gets its ServiceAccount's IRSA role (``names.irsa_role_arn``) once the account is
  known.

Why Argo CD rather than Flux: the portal writes desired state to a git repository or applies it to the cluster,
and an ``Application`` holds everything of one release (chart, version, values, destination, sync policy) in one
object the plan can show and diff, where Flux needs a ``HelmRepository`` beside each ``HelmRelease``. Argo CD also
shows every release's own objects and their health to the SREs who approve platform changes. Argo CD itself is
installed with the cluster (the ``argocd`` namespace is its installation's, like istiod's); the releases'
finalizer makes deleting an Application (the layer prunes one it no longer renders) uninstall its release.

Istio (base, istiod) is installed with the cluster too: istiod must run before the layer's Gateways and sidecars
mean anything, and its configuration is the layer's ``istio`` ConfigMap (``mesh.py``).
"""

import hashlib
from dataclasses import dataclass, field
from typing import Any

from provisioning import names
from provisioning.spec import PlatformSpec

from . import logs, tracing
from .consoles import GRAFANA_SSO
from .ingress import NGINX_CONTROLLER_SERVICE
from .monitoring import GRAFANA_DASHBOARD_DIR, GRAFANA_SERVICE, dashboard_provider, kiali_config
from .objects import dump_yaml, metadata
from .tools import NGINX_CONTROLLER, NGINX_SETTINGS, oauth2_proxy_settings, to_toml

APPLICATION_API = "argoproj.io/v1alpha1"
ARGOCD_NAMESPACE = "argocd"
ARGOCD_PROJECT = "default"
IN_CLUSTER = "https://kubernetes.default.svc"
# Deleting the Application deletes its release's objects first (Argo CD's cascading delete).
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
CONFIG_DIGEST_ANNOTATION = "portal.io/config-digest"

PROMETHEUS_COMMUNITY = "https://prometheus-community.github.io/helm-charts"

KUBE_STATE_METRICS = "kube-state-metrics"
NODE_EXPORTER = "prometheus-node-exporter"
PROMETHEUS_OPERATOR = "kube-prometheus-stack"
# kube-state-metrics' metrics port (its chart's container port ``http``) and node-exporter's (``metrics``).
KUBE_STATE_METRICS_PORT = "http"
NODE_EXPORTER_PORT = "metrics"
FLUENT_BIT_STATE = "/var/fluent-bit/state"


@dataclass(frozen=True)
class Chart:
    """A chart of an upstream Helm repository at one version."""

    repo: str
    name: str
    version: str


@dataclass(frozen=True)
class Release:
    """One component: its chart, the release (and Application) name, where it runs, its values."""

    name: str
    chart: Chart
    namespace: str
    values: dict[str, Any] = field(default_factory=dict)
    # Namespaces the layer does not render (the operators', cert-manager's) are created by Argo CD.
    create_namespace: bool = False


CHARTS = {
    "fluent-bit": Chart("https://fluent.github.io/helm-charts", "fluent-bit", "0.58.1"),
    "opentelemetry-collector": Chart(
        "https://open-telemetry.github.io/opentelemetry-helm-charts", "opentelemetry-collector", "0.170.0"
    ),
    PROMETHEUS_OPERATOR: Chart(PROMETHEUS_COMMUNITY, "kube-prometheus-stack", "88.5.3"),
    KUBE_STATE_METRICS: Chart(PROMETHEUS_COMMUNITY, "kube-state-metrics", "8.4.0"),
    NODE_EXPORTER: Chart(PROMETHEUS_COMMUNITY, "prometheus-node-exporter", "4.56.1"),
    "grafana": Chart("https://grafana-community.github.io/helm-charts", "grafana", "12.11.1"),
    "kiali": Chart("https://kiali.org/helm-charts", "kiali-server", "2.29.0"),
    "cert-manager": Chart("https://charts.jetstack.io", "cert-manager", "v1.21.1"),
    "ingress-nginx": Chart("https://kubernetes.github.io/ingress-nginx", "ingress-nginx", "4.15.1"),
    "oauth2-proxy": Chart("https://oauth2-proxy.github.io/manifests", "oauth2-proxy", "10.7.0"),
    "aws-load-balancer-controller": Chart("https://aws.github.io/eks-charts", "aws-load-balancer-controller", "3.5.0"),
}


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def service_account(platform: PlatformSpec, name: str) -> dict[str, Any]:
    """A chart's ServiceAccount of a fixed name, with its IRSA role once the platform's account is known."""
    account: dict[str, Any] = {"create": True, "name": name}
    if platform.aws_account_id:
        role = names.irsa_role_arn(platform.aws_account_id, platform.cluster_name, name)
        account["annotations"] = {names.IRSA_ANNOTATION: role}
    return account


# --- logs and traces --------------------------------------------------------------------------------------------


def fluent_bit(platform: PlatformSpec) -> Release:
    """The DaemonSet agent with its RBAC (pods and namespaces, for the kubernetes filter's labels), reading the
    layer's ``fluent-bit`` ConfigMap (YAML, so ``--config`` names it) and keeping its tail positions on the node."""
    config = dump_yaml(logs.fluent_bit_config(platform))
    host_volumes = [
        {"name": "varlog", "hostPath": {"path": "/var/log"}},
        {"name": "varlibdockercontainers", "hostPath": {"path": "/var/lib/docker/containers"}},
        {"name": "etcmachineid", "hostPath": {"path": "/etc/machine-id", "type": "File"}},
        {"name": "state", "hostPath": {"path": FLUENT_BIT_STATE, "type": "DirectoryOrCreate"}},
    ]
    mounts = [
        {"name": "varlog", "mountPath": "/var/log"},
        {"name": "varlibdockercontainers", "mountPath": "/var/lib/docker/containers", "readOnly": True},
        {"name": "etcmachineid", "mountPath": "/etc/machine-id", "readOnly": True},
        {"name": "state", "mountPath": FLUENT_BIT_STATE},
    ]
    values = {
        "fullnameOverride": logs.CONFIG_MAP,
        "kind": "DaemonSet",
        "serviceAccount": service_account(platform, logs.COMPONENT),
        "rbac": {"create": True},
        "existingConfigMap": logs.CONFIG_MAP,
        "args": ["--workdir=/fluent-bit/etc", f"--config=/fluent-bit/etc/conf/{logs.CONFIG_KEY}"],
        "daemonSetVolumes": host_volumes,
        "daemonSetVolumeMounts": mounts,
        "podAnnotations": {CONFIG_DIGEST_ANNOTATION: digest(config)},
    }
    return Release("fluent-bit", CHARTS["fluent-bit"], names.LOGGING_NAMESPACE, values)


def otel_collector_service(platform: PlatformSpec) -> tuple[str, str]:
    """The collector's Service name and namespace, from the host of ``otel_collector_endpoint``."""
    host = platform.otel_collector_endpoint.rpartition(":")[0] or platform.otel_collector_endpoint
    name, _, rest = host.partition(".")
    return name, rest.partition(".")[0] or names.OBSERVABILITY_NAMESPACE


def opentelemetry_collector(platform: PlatformSpec) -> Release:
    """Two collector replicas (the contrib image: it has the X-Ray exporter) reading the layer's configuration."""
    name, namespace = otel_collector_service(platform)
    config = dump_yaml(tracing.collector_config(platform))
    values = {
        "fullnameOverride": name,
        "mode": "deployment",
        "replicaCount": 2,
        "image": {"repository": "otel/opentelemetry-collector-contrib"},
        "configMap": {"create": False, "existingName": tracing.CONFIG_MAP},
        "serviceAccount": service_account(platform, tracing.COMPONENT),
        "podAnnotations": {CONFIG_DIGEST_ANNOTATION: digest(config)},
    }
    return Release("opentelemetry-collector", CHARTS["opentelemetry-collector"], namespace, values)


# --- metrics ----------------------------------------------------------------------------------------------------


def prometheus_operator(platform: PlatformSpec) -> Release:
    """The Prometheus operator and its CRDs only: the layer renders the Prometheus, the Alertmanager, their rules
    and every monitor itself, and kube-state-metrics and node-exporter are releases of their own."""
    off = {"enabled": False}
    values = {
        "fullnameOverride": PROMETHEUS_OPERATOR,
        "crds": {"enabled": True},
        "defaultRules": {"create": False},
        "kubernetesServiceMonitors": off,
        "prometheus": off,
        "alertmanager": off,
        "grafana": off,
        "kubeStateMetrics": off,
        "nodeExporter": off,
        # The operator keeps a Service of every node's kubelet (kube-system/kubelet) for kubelet and cAdvisor scrapes.
        "prometheusOperator": {
            "kubeletService": {"enabled": True, "namespace": "kube-system", "name": "kubelet"},
            "serviceMonitor": {"selfMonitor": False},
        },
    }
    return Release(PROMETHEUS_OPERATOR, CHARTS[PROMETHEUS_OPERATOR], platform.monitoring_namespace, values, True)


def kube_state_metrics(platform: PlatformSpec) -> Release:
    values = {"fullnameOverride": KUBE_STATE_METRICS, "prometheus": {"monitor": {"enabled": False}}}
    return Release(KUBE_STATE_METRICS, CHARTS[KUBE_STATE_METRICS], platform.monitoring_namespace, values, True)


def node_exporter(platform: PlatformSpec) -> Release:
    """On every node, in the node's network namespace (its pods' addresses are the nodes')."""
    values = {
        "fullnameOverride": NODE_EXPORTER,
        "hostNetwork": True,
        "service": {"portName": NODE_EXPORTER_PORT},
        "prometheus": {"monitor": {"enabled": False}},
    }
    return Release(NODE_EXPORTER, CHARTS[NODE_EXPORTER], platform.monitoring_namespace, values, True)


def grafana(platform: PlatformSpec) -> Release:
    """Grafana with its two sidecars: data sources from the layer's labelled ConfigMap, dashboards from the
    services' ConfigMaps (a folder per ``grafana_folder`` annotation), loaded by the layer's provider settings."""
    provider = dashboard_provider()
    values = {
        "fullnameOverride": GRAFANA_SERVICE,
        "grafana.ini": {"server": {"root_url": platform.grafana_url}},
        # Sign-in at the portal's IdP (``consoles.py``): the GF_AUTH_GENERIC_OAUTH_* variables, and the client
        # secret the operators keep in a Secret, read from a file.
        "envFromConfigMaps": [{"name": GRAFANA_SSO}],
        "extraSecretMounts": [
            {
                "name": names.GRAFANA_OAUTH_CREDENTIALS,
                "secretName": names.GRAFANA_OAUTH_CREDENTIALS,
                "mountPath": names.GRAFANA_OAUTH_MOUNT,
                "readOnly": True,
            }
        ],
        "sidecar": {
            "datasources": {"enabled": True, "label": names.LABEL_GRAFANA_DATASOURCE, "labelValue": "1"},
            "dashboards": {
                "enabled": True,
                "label": names.LABEL_GRAFANA_DASHBOARD,
                "labelValue": "1",
                "searchNamespace": "ALL",
                "folder": GRAFANA_DASHBOARD_DIR,
                "folderAnnotation": names.ANNOTATION_GRAFANA_FOLDER,
                "provider": {
                    "name": provider["name"],
                    "orgid": provider["orgId"],
                    "type": provider["type"],
                    "disableDelete": provider["disableDeletion"],
                    "allowUiUpdates": provider["allowUiUpdates"],
                    "foldersFromFilesStructure": provider["options"]["foldersFromFilesStructure"],
                },
            },
        },
    }
    return Release("grafana", CHARTS["grafana"], platform.monitoring_namespace, values)


def kiali(platform: PlatformSpec) -> Release:
    """The Kiali server; its configuration is the chart's values (the chart renders the ``kiali`` ConfigMap)."""
    values = {"fullnameOverride": "kiali", **kiali_config(platform)}
    return Release("kiali", CHARTS["kiali"], platform.istio_root_namespace, values)


# --- certificates, ingress, sign-in, load balancers -------------------------------------------------------------


def cert_manager(platform: PlatformSpec) -> Release:
    values = {"fullnameOverride": "cert-manager", "crds": {"enabled": True}}
    return Release("cert-manager", CHARTS["cert-manager"], "cert-manager", values, True)


def ingress_nginx(platform: PlatformSpec) -> Release:
    """The Nginx Ingress controller behind the internal gateway (a ClusterIP Service; the gateway routes to
    ``ingress-nginx-controller``), with the layer's settings; the ``nginx`` IngressClass is the layer's own."""
    values = {
        # The chart names the controller's Service ``<fullname>-controller``.
        "fullnameOverride": NGINX_CONTROLLER_SERVICE.removesuffix("-controller"),
        "controller": {
            "config": dict(NGINX_SETTINGS),
            "ingressClass": "nginx",
            "ingressClassResource": {"enabled": False, "name": "nginx", "controllerValue": NGINX_CONTROLLER},
            "service": {"type": "ClusterIP"},
        },
    }
    return Release("ingress-nginx", CHARTS["ingress-nginx"], names.INGRESS_NGINX_NAMESPACE, values)


def oauth2_proxy(platform: PlatformSpec) -> Release:
    """OAuth2 Proxy with the layer's configuration file and the operators' credentials Secret."""
    config = to_toml(oauth2_proxy_settings(platform))
    values = {
        "fullnameOverride": names.OAUTH2_PROXY_SERVICE,
        "config": {"existingConfig": names.OAUTH2_PROXY_SERVICE, "existingSecret": names.OAUTH2_PROXY_CREDENTIALS},
        "service": {"type": "ClusterIP", "portNumber": names.OAUTH2_PROXY_SERVICE_PORT},
        "podAnnotations": {CONFIG_DIGEST_ANNOTATION: digest(config)},
    }
    return Release(names.OAUTH2_PROXY_SERVICE, CHARTS["oauth2-proxy"], names.OAUTH2_PROXY_NAMESPACE, values)


def aws_load_balancer_controller(platform: PlatformSpec) -> Release:
    """The controller keeping the levels' target groups filled (their TargetGroupBindings); it creates no ALB."""
    name = "aws-load-balancer-controller"
    values = {
        "fullnameOverride": name,
        "clusterName": platform.cluster_name,
        "region": platform.region,
        "vpcId": platform.vpc_id,
        "serviceAccount": service_account(platform, name),
    }
    return Release(name, CHARTS[name], "kube-system", values)


def releases(platform: PlatformSpec) -> list[Release]:
    return [
        fluent_bit(platform),
        opentelemetry_collector(platform),
        prometheus_operator(platform),
        kube_state_metrics(platform),
        node_exporter(platform),
        grafana(platform),
        kiali(platform),
        cert_manager(platform),
        ingress_nginx(platform),
        oauth2_proxy(platform),
        aws_load_balancer_controller(platform),
    ]


def application(release: Release) -> dict[str, Any]:
    """The Argo CD Application of one release: kept in sync (pruned, healed) with the chart and values."""
    sync_options = ["ServerSideApply=true"]
    if release.create_namespace:
        sync_options.append("CreateNamespace=true")
    meta = metadata(release.name, release.name, ARGOCD_NAMESPACE)
    meta["finalizers"] = [RESOURCES_FINALIZER]
    return {
        "apiVersion": APPLICATION_API,
        "kind": "Application",
        "metadata": meta,
        "spec": {
            "project": ARGOCD_PROJECT,
            "source": {
                "repoURL": release.chart.repo,
                "chart": release.chart.name,
                "targetRevision": release.chart.version,
                "helm": {"releaseName": release.name, "valuesObject": release.values},
            },
            "destination": {"server": IN_CLUSTER, "namespace": release.namespace},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}, "syncOptions": sync_options},
        },
    }


def build_releases(platform: PlatformSpec) -> list[dict[str, Any]]:
    return [application(release) for release in releases(platform)]
