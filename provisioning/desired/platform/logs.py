"""Container logs to each service's log group (seed §18-2): Fluent Bit as a DaemonSet agent, configured as data.

The pipeline (Fluent Bit >= 3.0, YAML configuration):

1. ``tail`` reads ``/var/log/containers/*.log`` (every container: the application and its ``istio-proxy``,
   whose access log is JSON) with the Docker and CRI multiline parsers, tag ``kube.<path>``.
2. ``kubernetes`` adds the pod's metadata under ``kubernetes`` and, with ``namespace_labels`` on, the labels of
   its Namespace under ``kubernetes_namespace.labels``. Team and service come from there: the portal labels
   every service's Namespace with ``portal.io/team`` and ``portal.io/service``, while the pods are the teams' own
   and carry whatever labels they chose. JSON lines are merged into the record (``response_code`` and friends
   become top-level keys, which the log group's 5xx metric filter reads).
3. ``rewrite_tag`` re-tags the records of service namespaces as ``portal.<team>.<service>`` and drops the
   original; records of other namespaces (the cluster's and the platform's own) are not routed by this file.
4. ``cloudwatch_logs`` sends ``portal.*`` to ``names.log_group_name(cluster, $TAG[1], $TAG[2])``, one stream per
   pod and container. The group name is built from tag parts because Fluent Bit's record accessor ends a
   ``$key['sub']`` variable only at ``.``, ``,``, a space or ``"``: a ``/`` between two variables would be read
   as part of the first one, so ``/eks/<cluster>/$ns['team']/$ns['service']`` cannot work, while ``$TAG[n]``
   ends at its ``]``. ``auto_create_group`` is off: the portal creates each log group with its retention and
   tags; a record for a group that does not exist yet fails (Fluent Bit logs it) and is written nowhere else.

The platform's own logs (seed §18-2) take the same way: a second ``rewrite_tag`` re-tags the records of the
platform's namespaces (the ingress gateways', istiod's, the monitoring, tracing and tool namespaces) as
``platform.<namespace>``, and a second output sends them to ``/eks/<cluster>/platform/<namespace>``, log groups of
the platform scope with their own retention (``platform_log_retention_days``). Fluent Bit's own namespace is
left out: its lines would come back through it.

The agent needs ``logs:CreateLogStream`` and ``logs:PutLogEvents`` on ``/eks/<cluster>/*`` (its own IAM role).
"""

import re
from typing import Any

from provisioning import names
from provisioning.aws.kinds import LOG_GROUP
from provisioning.resources import Resource, aws
from provisioning.spec import PlatformSpec

from .objects import config_map, dump_yaml, namespace

COMPONENT = "fluent-bit"
CONFIG_MAP = "fluent-bit"
CONFIG_KEY = "fluent-bit.yaml"

CONTAINER_LOGS = "/var/log/containers"
INPUT_TAG = "kube.*"
# What tail puts before the file's path in the tag (``kube.`` + the path, slashes as dots); the kubernetes filter
# strips it to find the pod, namespace and container in the file name.
KUBE_TAG_PREFIX = "kube.var.log.containers."
SERVICE_TAG = "portal"
EMITTER = "portal_services"
PLATFORM_TAG = "platform"
PLATFORM_EMITTER = "platform_components"


def platform_log_namespaces(platform: PlatformSpec) -> list[str]:
    """The namespaces whose logs are the platform's own, each with its log group."""
    return sorted(
        {
            platform.ingress_namespace,
            platform.istio_root_namespace,
            platform.monitoring_namespace,
            names.OBSERVABILITY_NAMESPACE,
            names.OAUTH2_PROXY_NAMESPACE,
            names.INGRESS_NGINX_NAMESPACE,
        }
    )


def platform_log_group_name(cluster: str, component: str) -> str:
    return f"/eks/{cluster}/platform/{component}"


def platform_tag_rule(platform: PlatformSpec) -> str:
    """``rewrite_tag`` rule: records of the platform's namespaces become ``platform.<namespace>``."""
    namespace = record_accessor("kubernetes", "namespace_name")
    alternatives = "|".join(re.escape(ns) for ns in platform_log_namespaces(platform))
    return f"{namespace} ^({alternatives})$ {PLATFORM_TAG}.{namespace} false"


def platform_log_groups(platform: PlatformSpec) -> list[Resource]:
    """The platform components' log groups, with the platform's retention for them."""
    groups = [platform_log_group_name(platform.cluster_name, ns) for ns in platform_log_namespaces(platform)]
    body = {"retention_days": platform.platform_log_retention_days}
    return [aws(LOG_GROUP, group, {**body, "tags": names.platform_tags(group)}) for group in groups]


def record_accessor(root: str, *subkeys: str) -> str:
    """Fluent Bit's record accessor of a nested key: ``$root['a']['b']``."""
    return "$" + root + "".join(f"['{key}']" for key in subkeys)


def namespace_label(key: str) -> str:
    return record_accessor("kubernetes_namespace", "labels", key)


def service_tag_rule() -> str:
    """``rewrite_tag`` rule: records whose Namespace names a service become ``portal.<team>.<service>``."""
    team, service = namespace_label(names.LABEL_TEAM), namespace_label(names.LABEL_SERVICE)
    return f"{service} ^.+$ {SERVICE_TAG}.{team}.{service} false"


def log_group_template(platform: PlatformSpec) -> str:
    return names.log_group_name(platform.cluster_name, "$TAG[1]", "$TAG[2]")


def unrouted_log_group(platform: PlatformSpec) -> str:
    """Fluent Bit's required fallback group; never used, as every ``portal.*`` tag has both parts."""
    return f"/eks/{platform.cluster_name}/unrouted"


def fluent_bit_config(platform: PlatformSpec) -> dict[str, Any]:
    return {
        "service": {
            "flush": 5,
            "log_level": "info",
            "http_server": True,
            # The agent's health and metrics endpoint, for the kubelet and Prometheus.
            "http_listen": "0.0.0.0",  # noqa: S104
            "http_port": 2020,
            "health_check": True,
        },
        "pipeline": {
            "inputs": [
                {
                    "name": "tail",
                    "tag": INPUT_TAG,
                    "path": f"{CONTAINER_LOGS}/*.log",
                    # Fluent Bit's own lines would come back through it.
                    "exclude_path": f"{CONTAINER_LOGS}/*_{names.LOGGING_NAMESPACE}_*.log",
                    "multiline.parser": "docker, cri",
                    "db": "/var/fluent-bit/state/containers.db",
                    "mem_buf_limit": "50MB",
                    "skip_long_lines": True,
                    "refresh_interval": 10,
                }
            ],
            "filters": [
                {
                    "name": "kubernetes",
                    "match": INPUT_TAG,
                    "kube_tag_prefix": KUBE_TAG_PREFIX,
                    "merge_log": True,
                    "keep_log": False,
                    "k8s-logging.parser": True,
                    "k8s-logging.exclude": True,
                    "labels": True,
                    "annotations": False,
                    "namespace_labels": True,
                },
                {
                    "name": "rewrite_tag",
                    "match": INPUT_TAG,
                    "rule": service_tag_rule(),
                    "emitter_name": EMITTER,
                    "emitter_mem_buf_limit": "50MB",
                },
                {
                    "name": "rewrite_tag",
                    "match": INPUT_TAG,
                    "rule": platform_tag_rule(platform),
                    "emitter_name": PLATFORM_EMITTER,
                    "emitter_mem_buf_limit": "50MB",
                },
            ],
            "outputs": [
                {
                    "name": "cloudwatch_logs",
                    "match": f"{SERVICE_TAG}.*",
                    "region": platform.region,
                    "log_group_name": unrouted_log_group(platform),
                    "log_group_template": log_group_template(platform),
                    "log_stream_prefix": "unnamed.",
                    "log_stream_template": f"{record_accessor('kubernetes', 'pod_name')}."
                    f"{record_accessor('kubernetes', 'container_name')}",
                    "auto_create_group": False,
                },
                {
                    "name": "cloudwatch_logs",
                    "match": f"{PLATFORM_TAG}.*",
                    "region": platform.region,
                    "log_group_name": unrouted_log_group(platform),
                    "log_group_template": platform_log_group_name(platform.cluster_name, "$TAG[1]"),
                    "log_stream_prefix": "unnamed.",
                    "log_stream_template": f"{record_accessor('kubernetes', 'pod_name')}."
                    f"{record_accessor('kubernetes', 'container_name')}",
                    "auto_create_group": False,
                },
            ],
        },
    }


def build_logging(platform: PlatformSpec) -> list[dict[str, Any]]:
    data = {CONFIG_KEY: dump_yaml(fluent_bit_config(platform))}
    return [
        namespace(names.LOGGING_NAMESPACE, COMPONENT, mesh=False),
        config_map(CONFIG_MAP, names.LOGGING_NAMESPACE, COMPONENT, data),
    ]
