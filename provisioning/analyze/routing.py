"""Istio routing: VirtualServices against Gateways, DestinationRules, Services and ServiceEntries
(PA001-PA004, PA011, PA013)."""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .graph import ISTIO_NETWORKING, Graph, Resolution
from .hosts import MESH, export_scope, is_wildcard, normalized, overlaps, registry_name, scopes_meet, visible
from .model import Finding, KubeObject, mapping, sequence, text


@dataclass(frozen=True)
class Destination:
    """One ``destination`` of a VirtualService: a route's (which carries traffic) or a mirror's."""

    path: str
    host: str
    subset: str
    route: bool


def virtual_services(graph: Graph) -> list[KubeObject]:
    return graph.of_kind("VirtualService", ISTIO_NETWORKING)


def gateway_key(reference: str, namespace: str) -> str:
    """``ns/name`` of a gateway reference (a bare name is in the VirtualService's namespace), or ``mesh``."""
    reference = reference.strip()
    if reference == MESH:
        return MESH
    return reference if "/" in reference else f"{namespace}/{reference}"


def gateway_references(vs: KubeObject) -> list[tuple[str, str]]:
    """(path, ``ns/name`` or ``mesh``) of every gateway the VirtualService names; none named means ``mesh``."""
    references = [
        (f"spec.gateways[{i}]", gateway_key(name, vs.namespace))
        for i, name in enumerate(sequence(vs.spec.get("gateways")))
        if isinstance(name, str) and name.strip()
    ]
    return references or [("spec.gateways", MESH)]


def _match_gateway_references(vs: KubeObject) -> Iterator[tuple[str, str]]:
    for protocol in ("http", "tls", "tcp"):
        for i, rule in enumerate(sequence(vs.spec.get(protocol))):
            for j, match in enumerate(sequence(mapping(rule).get("match"))):
                for k, name in enumerate(sequence(mapping(match).get("gateways"))):
                    if isinstance(name, str) and name.strip():
                        yield f"spec.{protocol}[{i}].match[{j}].gateways[{k}]", gateway_key(name, vs.namespace)


def gateway(graph: Graph, key: str) -> KubeObject | None:
    namespace, _, name = key.partition("/")
    return graph.get(ISTIO_NETWORKING, "Gateway", namespace, name)


def bound_gateways(graph: Graph, vs: KubeObject) -> list[KubeObject]:
    """The Gateway objects of the set that the VirtualService binds to (``mesh`` is none of them)."""
    found = {key: gateway(graph, key) for _, key in gateway_references(vs) if key != MESH}
    return [gw for _, gw in sorted(found.items()) if gw is not None]


def destinations(vs: KubeObject) -> Iterator[Destination]:
    """Every destination of the VirtualService's http, tls and tcp routes and http mirrors."""
    for protocol in ("http", "tls", "tcp"):
        for i, rule in enumerate(sequence(vs.spec.get(protocol))):
            rule = mapping(rule)
            for j, route in enumerate(sequence(rule.get("route"))):
                yield _destination(f"spec.{protocol}[{i}].route[{j}].destination", mapping(route).get("destination"))
            if protocol != "http":
                continue
            if "mirror" in rule:
                yield _destination(f"spec.http[{i}].mirror", rule.get("mirror"), route=False)
            for k, mirror in enumerate(sequence(rule.get("mirrors"))):
                yield _destination(
                    f"spec.http[{i}].mirrors[{k}].destination", mapping(mirror).get("destination"), False
                )


def _destination(path: str, body: Any, route: bool = True) -> Destination:
    body = mapping(body)
    return Destination(path, text(body.get("host")).strip(), text(body.get("subset")).strip(), route)


def check_gateways_exist(graph: Graph) -> Iterator[Finding]:
    """PA001: every gateway a VirtualService names (in ``spec.gateways`` or a match) is in the set."""
    for vs in virtual_services(graph):
        for path, key in [*gateway_references(vs), *_match_gateway_references(vs)]:
            if key != MESH and gateway(graph, key) is None:
                yield Finding("PA001", vs.ident, path, f"Gateway {key} is not in the set")


def _server_hosts(gw: KubeObject) -> Iterator[tuple[str, str]]:
    """(namespace part, host part) of every server host; ``.`` is the Gateway's own namespace."""
    for server in sequence(gw.spec.get("servers")):
        for entry in sequence(mapping(server).get("hosts")):
            if isinstance(entry, str) and entry.strip():
                namespace, _, host = entry.strip().rpartition("/")
                namespace = namespace or "*"
                yield (gw.namespace if namespace == "." else namespace), normalized(host)


def _gateway_takes(gw: KubeObject, host: str, namespace: str) -> bool:
    """Whether a server of ``gw`` exposes ``host`` to VirtualServices of ``namespace``."""
    return any(ns in ("*", namespace) and overlaps(pattern, host) for ns, pattern in _server_hosts(gw))


def _served_by_mesh(graph: Graph, host: str, namespace: str) -> bool:
    """Hosts of the cluster domain and of ServiceEntries are routed by the sidecars when ``mesh`` is bound."""
    return host.endswith(f".svc.{graph.domain}") or graph.service_entry(host, namespace) is not None


def check_gateway_hosts(graph: Graph) -> Iterator[Finding]:
    """PA002: each host of a Gateway-bound VirtualService is exposed by a server of one of its Gateways."""
    for vs in virtual_services(graph):
        gateways = bound_gateways(graph, vs)
        if not gateways:
            continue
        with_mesh = any(key == MESH for _, key in gateway_references(vs))
        names = ", ".join(gw.ident.removeprefix("Gateway/") for gw in gateways)
        for i, raw in enumerate(sequence(vs.spec.get("hosts"))):
            if not isinstance(raw, str) or not raw.strip():
                continue
            host = registry_name(raw, vs.namespace, graph.domain)
            if with_mesh and _served_by_mesh(graph, host, vs.namespace):
                continue
            if not any(_gateway_takes(gw, host, vs.namespace) for gw in gateways):
                yield Finding(
                    "PA002",
                    vs.ident,
                    f"spec.hosts[{i}]",
                    f"host {raw} is exposed by no server of Gateway {names} to namespace {vs.namespace}; "
                    "requests for it never reach these routes",
                )


def check_subsets(graph: Graph) -> Iterator[Finding]:
    """PA003: every subset a destination names is defined by a DestinationRule for its host."""
    for vs in virtual_services(graph):
        for destination in destinations(vs):
            if not destination.host or not destination.subset:
                continue
            resolution = graph.resolve(destination.host, vs.namespace)
            rules = graph.destination_rules(resolution.fqdn, vs.namespace)
            defined = sorted({text(mapping(s).get("name")) for r in rules for s in sequence(r.spec.get("subsets"))})
            if destination.subset in defined:
                continue
            if rules:
                having = ", ".join(r.ident for r in rules)
                detail = f"{having} define{'s' if len(rules) == 1 else ''} {', '.join(defined) or 'no subsets'}"
            else:
                detail = f"no DestinationRule for {resolution.fqdn} is visible in namespace {vs.namespace}"
            yield Finding(
                "PA003",
                vs.ident,
                f"{destination.path}.subset",
                f"subset {destination.subset} of {destination.host} is not defined ({detail}); Istio answers 503",
            )


def _unresolved(graph: Graph, resolution: Resolution, namespace: str) -> str:
    message = f"host {resolution.host} resolves to no Service or ServiceEntry in the set"
    hidden = graph.hidden_service(resolution)
    if hidden is not None:
        return f"{message}: {hidden.ident} is not exported to namespace {namespace}"
    if resolution.name and resolution.name.expanded:
        return f"{message}; no Service {resolution.name.namespace}/{resolution.name.name}"
    return message


def check_destination_hosts(graph: Graph) -> Iterator[Finding]:
    """PA004: every route, mirror and DestinationRule host names a Service or ServiceEntry of the set."""
    for vs in virtual_services(graph):
        for destination in destinations(vs):
            if destination.host:
                resolution = graph.resolve(destination.host, vs.namespace)
                if not resolution.found:
                    yield Finding(
                        "PA004", vs.ident, f"{destination.path}.host", _unresolved(graph, resolution, vs.namespace)
                    )
    for rule in graph.of_kind("DestinationRule", ISTIO_NETWORKING):
        host = text(rule.spec.get("host")).strip()
        if host and not is_wildcard(host):
            resolution = graph.resolve(host, rule.namespace)
            if not resolution.found:
                yield Finding("PA004", rule.ident, "spec.host", _unresolved(graph, resolution, rule.namespace))


def check_unexpanded_hosts(graph: Graph) -> Iterator[Finding]:
    """PA013: ``name.namespace`` and ``name.namespace.svc`` find the Service only in DNS; Istio looks the host up
    in its registry as written, so a route to it is dropped and a DestinationRule for it applies to nothing."""
    for vs in virtual_services(graph):
        for destination in destinations(vs):
            if destination.host:
                finding = _unexpanded(graph.resolve(destination.host, vs.namespace), "traffic to it is dropped")
                if finding:
                    yield Finding("PA013", vs.ident, f"{destination.path}.host", finding)
    for rule in graph.of_kind("DestinationRule", ISTIO_NETWORKING):
        host = text(rule.spec.get("host")).strip()
        if host:
            finding = _unexpanded(graph.resolve(host, rule.namespace), "the rule applies to nothing")
            if finding:
                yield Finding("PA013", rule.ident, "spec.host", finding)


def _unexpanded(resolution: Resolution, consequence: str) -> str:
    if resolution.service is None or resolution.name is None or resolution.name.expanded:
        return ""
    return (
        f"Istio does not expand {resolution.host} to the Service {resolution.name.namespace}/{resolution.name.name}"
        f" ({consequence}); write {resolution.fqdn}"
    )


def check_host_conflicts(graph: Graph) -> Iterator[Finding]:
    """PA011: no two VirtualServices claim the same host on the same gateway (``mesh`` included)."""
    claims: dict[tuple[str, str], list[tuple[KubeObject, int, frozenset[str] | None]]] = defaultdict(list)
    for vs in virtual_services(graph):
        scope = export_scope(sequence(vs.spec.get("exportTo")), vs.namespace)
        for _, key in gateway_references(vs):
            for i, raw in enumerate(sequence(vs.spec.get("hosts"))):
                if isinstance(raw, str) and raw.strip():
                    claims[key, registry_name(raw, vs.namespace, graph.domain)].append((vs, i, scope))
    for (key, host), entries in sorted(claims.items()):
        for vs, index, scope in entries:
            others = sorted(
                {other.ident for other, _, theirs in entries if other.ident != vs.ident and _meet(key, scope, theirs)}
            )
            if others:
                where = "the mesh" if key == MESH else f"Gateway {key}"
                yield Finding(
                    "PA011",
                    vs.ident,
                    f"spec.hosts[{index}]",
                    f"host {host} on {where} is also claimed by {', '.join(others)}; "
                    "Istio merges their routes in creation order or ignores one",
                )


def _meet(key: str, first: frozenset[str] | None, second: frozenset[str] | None) -> bool:
    """Whether one gateway sees both VirtualServices: a Gateway from its namespace, the mesh from anywhere."""
    if key == MESH:
        return scopes_meet(first, second)
    namespace = key.partition("/")[0]
    return visible(first, namespace) and visible(second, namespace)


def route_targets(graph: Graph, vs: KubeObject) -> Iterator[tuple[Destination, Resolution]]:
    """The route destinations (not mirrors) of a VirtualService with what their hosts resolve to."""
    for destination in destinations(vs):
        if destination.route and destination.host:
            yield destination, graph.resolve(destination.host, vs.namespace)
