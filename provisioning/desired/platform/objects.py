"""What every platform object shares: ownership metadata, namespaces, ConfigMaps whose files are generated data."""

from typing import Any

import yaml

from provisioning import names

ISTIO_INJECTION = "istio-injection"


def metadata(
    name: str,
    component: str,
    namespace: str = "",
    *,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``metadata`` of a platform object: the platform's ownership labels plus any kind-specific ones."""
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["labels"] = {**names.platform_labels(component), **(labels or {})}
    if annotations:
        meta["annotations"] = annotations
    return meta


def namespace(name: str, component: str, *, mesh: bool) -> dict[str, Any]:
    """A namespace the platform layer creates. Outside the mesh injection is stated, so no default applies."""
    labels = {} if mesh else {ISTIO_INJECTION: "disabled"}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata(name, component, labels=labels)}


def service_account(name: str, namespace: str, component: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata(name, component, namespace)}


def config_map(
    name: str,
    namespace: str,
    component: str,
    data: dict[str, str],
    *,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(name, component, namespace, labels=labels, annotations=annotations),
        "data": data,
    }


class _Dumper(yaml.SafeDumper):
    """Block style, no anchors or aliases: every value is written where it is used."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(document: Any) -> str:
    """A configuration file generated from data (never from text templates); long values stay on one line."""
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1_000_000)


def split_endpoint(endpoint: str, default_port: int) -> tuple[str, int]:
    """``host:port`` (the port optional) as a host and a port number."""
    host, sep, port = endpoint.rpartition(":")
    if sep and port.isdigit():
        return host, int(port)
    return endpoint, default_port
