"""What the server fills in on write: the ``default`` values of a custom resource's schema, and the defaults of the
built-in kinds (a Service's type and ports, a Deployment's strategy and pod template, a Namespace's phase...)."""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable, Mapping
from typing import Any

from .crds import fill_crd_status
from .kinds import CRD_GROUP


def apply_schema_defaults(value: Any, schema: Mapping[str, Any] | None, root: bool = False) -> None:
    """Fill ``default`` values of the schema into the maps that exist, as the server does for custom resources."""
    if not isinstance(schema, Mapping):
        return
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for key, child in properties.items():
            if root and key == "metadata":
                continue
            if key not in value and isinstance(child, Mapping) and "default" in child:
                value[key] = copy.deepcopy(child["default"])
            if key in value:
                apply_schema_defaults(value[key], child)
        additional = schema.get("additionalProperties")
        if isinstance(additional, Mapping):
            for key in value.keys() - properties.keys():
                apply_schema_defaults(value[key], additional)
    elif isinstance(value, list):
        for item in value:
            apply_schema_defaults(item, schema.get("items"))


def _default_namespace(obj: dict[str, Any]) -> None:
    obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj.setdefault("status", {}).setdefault("phase", "Active")


def _default_service(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        if "port" in port:
            port.setdefault("targetPort", port["port"])
    if spec["type"] != "ExternalName":
        spec.setdefault("internalTrafficPolicy", "Cluster")
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    obj.setdefault("status", {"loadBalancer": {}})


def _default_pod_template(spec: dict[str, Any]) -> None:
    template = spec.setdefault("template", {}).setdefault("spec", {})
    template.setdefault("restartPolicy", "Always")
    template.setdefault("terminationGracePeriodSeconds", 30)
    template.setdefault("dnsPolicy", "ClusterFirst")
    template.setdefault("schedulerName", "default-scheduler")
    template.setdefault("securityContext", {})
    for container in [*template.get("containers", []), *template.get("initContainers", [])]:
        image = str(container.get("image", ""))
        latest = ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest")
        container.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("resources", {})
        for port in container.get("ports") or []:
            port.setdefault("protocol", "TCP")


def _default_deployment(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    strategy = spec.setdefault("strategy", {"type": "RollingUpdate"})
    if strategy.get("type") == "RollingUpdate":
        strategy.setdefault("rollingUpdate", {"maxUnavailable": "25%", "maxSurge": "25%"})
    _default_pod_template(spec)


def _default_daemonset(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("revisionHistoryLimit", 10)
    strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
    if strategy.get("type") == "RollingUpdate":
        strategy.setdefault("rollingUpdate", {"maxUnavailable": 1, "maxSurge": 0})
    _default_pod_template(spec)


def _default_secret(obj: dict[str, Any]) -> None:
    obj.setdefault("type", "Opaque")
    # The server folds stringData into data; stringData is never stored.
    for key, value in (obj.pop("stringData", None) or {}).items():
        obj.setdefault("data", {})[key] = base64.b64encode(str(value).encode()).decode()


def _default_ingress(obj: dict[str, Any]) -> None:
    obj.setdefault("status", {"loadBalancer": {}})


_BUILTIN_DEFAULTS: dict[tuple[str, str], Callable[[dict[str, Any]], None]] = {
    ("", "Namespace"): _default_namespace,
    ("", "Service"): _default_service,
    ("", "Secret"): _default_secret,
    ("apps", "Deployment"): _default_deployment,
    ("apps", "DaemonSet"): _default_daemonset,
    ("networking.k8s.io", "Ingress"): _default_ingress,
    (CRD_GROUP, "CustomResourceDefinition"): fill_crd_status,
}


def apply_builtin_defaults(group: str, kind: str, obj: dict[str, Any]) -> None:
    """Fill the server's defaults into an object of a built-in kind (kinds without defaults are left alone)."""
    if default := _BUILTIN_DEFAULTS.get((group, kind)):
        default(obj)
