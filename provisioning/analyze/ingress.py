"""Ingress backends name Services and ports of the set (PA010)."""

from collections.abc import Iterator, Mapping
from typing import Any

from .graph import INGRESS_GROUPS, Graph
from .model import Finding, KubeObject, mapping, sequence, text


def _backends(ingress: KubeObject) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(path, backend) of the default backend and of every rule path."""
    spec = ingress.spec
    for field in ("defaultBackend", "backend"):
        if field in spec:
            yield f"spec.{field}", mapping(spec.get(field))
    for i, rule in enumerate(sequence(spec.get("rules"))):
        for j, path in enumerate(sequence(mapping(mapping(rule).get("http")).get("paths"))):
            yield f"spec.rules[{i}].http.paths[{j}].backend", mapping(mapping(path).get("backend"))


def _reference(backend: Mapping[str, Any]) -> tuple[str, str, Any] | None:
    """(field path of the port, Service name, port number or name); the v1beta1 form too. None for a resource
    backend."""
    if "service" in backend:
        service = mapping(backend.get("service"))
        port = mapping(service.get("port"))
        number = port.get("number")
        return (
            ("service.port.number", text(service.get("name")), number)
            if number is not None
            else (
                "service.port.name",
                text(service.get("name")),
                text(port.get("name")),
            )
        )
    if "serviceName" in backend:
        return "servicePort", text(backend.get("serviceName")), backend.get("servicePort")
    return None


def _has_port(service: KubeObject, port: Any) -> bool:
    for declared in sequence(service.spec.get("ports")):
        declared = mapping(declared)
        if port == declared.get("port") or (isinstance(port, str) and port and port == declared.get("name")):
            return True
    return False


def check_ingress_backends(graph: Graph) -> Iterator[Finding]:
    """PA010: every Ingress backend names a Service of the Ingress's namespace and one of its ports (by number or
    name)."""
    for ingress in graph.of_kind("Ingress", *INGRESS_GROUPS):
        for path, backend in _backends(ingress):
            reference = _reference(backend)
            if reference is None or not reference[1]:
                continue
            port_field, name, port = reference
            service = graph.services.get((ingress.namespace, name))
            if service is None:
                yield Finding(
                    "PA010",
                    ingress.ident,
                    f"{path}.{'service.name' if port_field.startswith('service.') else 'serviceName'}",
                    f"Service {ingress.namespace}/{name} is not in the set",
                )
            elif (
                port not in (None, "")
                and text(service.spec.get("type")) != "ExternalName"
                and not _has_port(service, port)
            ):
                declared = [
                    f"{mapping(p).get('port')}" + (f" ({mapping(p).get('name')})" if mapping(p).get("name") else "")
                    for p in sequence(service.spec.get("ports"))
                ]
                yield Finding(
                    "PA010",
                    ingress.ident,
                    f"{path}.{port_field}",
                    f"Service {service.ident.removeprefix('Service/')} has no port {port}; it has "
                    f"{', '.join(declared) or 'none'}",
                )
