"""Host names as Istio reads them: short names, cluster FQDNs, wildcards, ``exportTo`` scopes."""

from collections.abc import Iterable
from dataclasses import dataclass

MESH = "mesh"


def normalized(host: str) -> str:
    """DNS names compare case-insensitively; a trailing dot changes nothing."""
    return host.strip().lower().rstrip(".")


def is_wildcard(host: str) -> bool:
    return host.startswith("*")


def overlaps(first: str, second: str) -> bool:
    """Whether two host patterns can name the same host (``*`` and ``*.domain`` wildcards), as Istio binds a
    VirtualService host to a Gateway server host."""
    if is_wildcard(first) and is_wildcard(second):
        shorter, longer = sorted((first[1:], second[1:]), key=len)
        return longer.endswith(shorter)
    if is_wildcard(first):
        return second.endswith(first[1:])
    if is_wildcard(second):
        return first.endswith(second[1:])
    return first == second


def covers(pattern: str, host: str) -> bool:
    """Whether every name ``host`` stands for is matched by ``pattern`` (a rule for ``*.a.com`` covers ``b.a.com``)."""
    if pattern == host:
        return True
    return is_wildcard(pattern) and host.endswith(pattern[1:])


@dataclass(frozen=True)
class ServiceName:
    """A host read as a Kubernetes Service. ``expanded``: Istio itself maps the written form to the Service (a
    short name or the full cluster name); ``name.namespace`` and ``name.namespace.svc`` resolve only in DNS."""

    name: str
    namespace: str
    fqdn: str
    expanded: bool


def service_name(host: str, namespace: str, domain: str) -> ServiceName | None:
    """The Service a host names when read in ``namespace`` (short names resolve there), or None."""
    host = normalized(host)
    if not host or is_wildcard(host):
        return None
    suffix = f".svc.{domain}"
    if "." not in host:
        return ServiceName(host, namespace, f"{host}.{namespace}{suffix}", True)
    expanded = host.endswith(suffix)
    stem = host[: -len(suffix)] if expanded else host.removesuffix(".svc")
    parts = stem.split(".")
    if len(parts) != 2 or not all(parts):
        return None
    return ServiceName(parts[0], parts[1], f"{parts[0]}.{parts[1]}{suffix}", expanded)


def registry_name(host: str, namespace: str, domain: str) -> str:
    """The name Istio looks up for ``host`` written in ``namespace``: a short name expands to the cluster FQDN,
    any other form is taken as written."""
    service = service_name(host, namespace, domain)
    return service.fqdn if service and service.expanded else normalized(host)


def export_scope(values: Iterable[str] | None, namespace: str) -> frozenset[str] | None:
    """The namespaces an object declared in ``namespace`` is visible from under ``exportTo``; None: everywhere."""
    values = [v.strip() for v in values or () if isinstance(v, str) and v.strip()]
    if not values or "*" in values:
        return None
    return frozenset(namespace if v == "." else v for v in values if v != "~")


def visible(scope: frozenset[str] | None, namespace: str) -> bool:
    return scope is None or namespace in scope


def scopes_meet(first: frozenset[str] | None, second: frozenset[str] | None) -> bool:
    """Whether some namespace sees both objects."""
    if first is None:
        return second is None or bool(second)
    if second is None:
        return bool(first)
    return bool(first & second)
