"""Istio security along the routes: AuthorizationPolicies that shut a gateway out (PA005), DestinationRules that
send plain text where mTLS is STRICT (PA006).

Both report only what is certain from the set: a policy whose workload selector may or may not match the
destination's pods is counted when it admits, never when it would deny.
"""

from collections.abc import Iterator, Mapping
from typing import Any

from .graph import ISTIO_NETWORKING, ISTIO_SECURITY, Graph
from .hosts import covers, is_wildcard, normalized
from .model import Finding, KubeObject, mapping, sequence, text
from .routing import bound_gateways, route_targets, virtual_services
from .selectors import may_select, surely_selects

RELAXED_MTLS = ("PERMISSIVE", "DISABLE")


def _match_labels(policy: KubeObject) -> Mapping[str, Any]:
    return mapping(mapping(policy.spec.get("selector")).get("matchLabels"))


def _value_matches(pattern: str, value: str) -> bool:
    """Istio's string match in policies: exact, ``prefix*``, ``*suffix`` or ``*``."""
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    return pattern == value


def _principal_in(pattern: str, namespace: str) -> bool:
    """Whether ``pattern`` matches some identity ``<trust domain>/ns/<namespace>/sa/<account>``."""
    tail = f"ns/{namespace}/sa/"
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        _, slash, rest = pattern[:-1].partition("/")
        return not slash or tail.startswith(rest) or (rest.startswith(tail) and "/" not in rest[len(tail) :])
    if pattern.startswith("*"):
        suffix = pattern[1:]
        account = suffix.rpartition("/")[2]
        candidate = f"/{tail}{account}"
        return candidate.endswith(suffix) or (suffix.endswith(candidate) and "/" not in suffix[: -len(candidate)])
    parts = pattern.split("/")
    return len(parts) == 5 and parts[1:4] == ["ns", namespace, "sa"] and bool(parts[4])


def _all_principals_of(pattern: str, namespace: str) -> bool:
    """Whether ``pattern`` matches every identity of ``namespace`` (so a ``notPrincipals`` entry excludes it)."""
    if pattern == "*":
        return True
    if not pattern.endswith("*") or pattern.startswith("*"):
        return False
    _, slash, rest = pattern[:-1].partition("/")
    return bool(slash) and f"ns/{namespace}/sa/".startswith(rest)


def _strings(value: Any) -> list[str]:
    return [v for v in sequence(value) if isinstance(v, str)]


def _source_admits(source: Mapping[str, Any], namespace: str) -> bool:
    """Whether a ``from.source`` may match requests from workloads of ``namespace``; fields that do not speak of
    the peer's identity (IP blocks, request principals) are assumed to match."""
    namespaces = _strings(source.get("namespaces"))
    if "namespaces" in source and not any(_value_matches(p, namespace) for p in namespaces):
        return False
    if any(_value_matches(p, namespace) for p in _strings(source.get("notNamespaces"))):
        return False
    if "principals" in source and not any(_principal_in(p, namespace) for p in _strings(source.get("principals"))):
        return False
    if any(_all_principals_of(p, namespace) for p in _strings(source.get("notPrincipals"))):
        return False
    accounts = _strings(source.get("serviceAccounts"))
    return "serviceAccounts" not in source or any(a.partition("/")[0] == namespace for a in accounts)


def _admits(policy: KubeObject, namespace: str) -> bool:
    """Whether an ALLOW policy has a rule that may admit requests from ``namespace``. No rules: it admits nothing;
    a rule without ``from``: any source (its ``to`` and ``when`` are not weighed)."""
    for rule in sequence(policy.spec.get("rules")):
        sources = [mapping(mapping(entry).get("source")) for entry in sequence(mapping(rule).get("from"))]
        if not sources or any(_source_admits(source, namespace) for source in sources):
            return True
    return False


def _denying_policies(graph: Graph, namespace: str, pods: Mapping[str, str] | None, caller: str) -> list[KubeObject]:
    """The ALLOW policies that surely apply to the pods in ``namespace`` when none that may apply admits
    ``caller``; empty when the caller is admitted (or no ALLOW policy applies: then everything is)."""
    applying, possible = [], []
    root = graph.settings.root_namespace
    policies = graph.in_namespace("AuthorizationPolicy", ISTIO_SECURITY, namespace)
    if namespace != root:
        policies = [*policies, *graph.in_namespace("AuthorizationPolicy", ISTIO_SECURITY, root)]
    for policy in policies:
        if (text(policy.spec.get("action")) or "ALLOW").upper() != "ALLOW":
            continue
        labels = _match_labels(policy)
        if policy.spec.get("targetRef") or policy.spec.get("targetRefs"):
            possible.append(policy)
        elif not labels or (pods is not None and surely_selects(labels, pods)):
            applying.append(policy)
        elif pods is None or may_select(labels, pods):
            possible.append(policy)
    if not applying or any(_admits(policy, caller) for policy in [*applying, *possible]):
        return []
    return applying


def check_gateway_admission(graph: Graph) -> Iterator[Finding]:
    """PA005: the namespace a Gateway-bound route leads to admits the gateway's namespace or one of its
    service accounts."""
    for vs in virtual_services(graph):
        gateways = bound_gateways(graph, vs)
        if not gateways:
            continue
        for destination, resolution in route_targets(graph, vs):
            if not resolution.namespace:
                continue
            pods = graph.pod_labels(resolution.service)
            for gw in gateways:
                denying = _denying_policies(graph, resolution.namespace, pods, gw.namespace)
                if denying:
                    names = ", ".join(p.ident.removeprefix("AuthorizationPolicy/") for p in denying)
                    yield Finding(
                        "PA005",
                        vs.ident,
                        f"{destination.path}.host",
                        f"traffic from {gw.ident} is denied in namespace {resolution.namespace}: its ALLOW "
                        f"AuthorizationPolicies ({names}) admit neither namespace {gw.namespace} nor a service "
                        f"account of it",
                    )


def _mode(settings: Mapping[str, Any]) -> str:
    return (text(mapping(settings.get("mtls")).get("mode")) or "UNSET").upper()


def _strict_policy(graph: Graph, namespace: str, pods: Mapping[str, str] | None) -> KubeObject | None:
    """The PeerAuthentication that surely makes mTLS STRICT for those pods of ``namespace``, if any: the
    namespace's own, else the mesh-wide one of the root namespace; none relaxed by a workload policy."""
    for policy in graph.in_namespace("PeerAuthentication", ISTIO_SECURITY, namespace):
        labels = _match_labels(policy)
        if not labels or (pods is not None and not may_select(labels, pods)):
            continue
        ports = mapping(policy.spec.get("portLevelMtls")).values()
        if _mode(policy.spec) in RELAXED_MTLS or any(_mode({"mtls": p}) in RELAXED_MTLS for p in ports):
            return None
    for scope in (namespace, graph.settings.root_namespace):
        deciding = [
            p
            for p in graph.in_namespace("PeerAuthentication", ISTIO_SECURITY, scope)
            if not _match_labels(p) and _mode(p.spec) != "UNSET"
        ]
        if deciding:
            return deciding[0] if all(_mode(p.spec) == "STRICT" for p in deciding) else None
    return None


def _tls_settings(rule: KubeObject) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(path of ``tls.mode``, tls settings) of a DestinationRule's traffic policies, subsets and ports."""
    policies = [("spec.trafficPolicy", rule.spec.get("trafficPolicy"))]
    for i, subset in enumerate(sequence(rule.spec.get("subsets"))):
        policies.append((f"spec.subsets[{i}].trafficPolicy", mapping(subset).get("trafficPolicy")))
    for prefix, policy in policies:
        policy = mapping(policy)
        if "tls" in policy:
            yield f"{prefix}.tls.mode", mapping(policy.get("tls"))
        for k, port in enumerate(sequence(policy.get("portLevelSettings"))):
            if "tls" in mapping(port):
                yield f"{prefix}.portLevelSettings[{k}].tls.mode", mapping(mapping(port).get("tls"))


def _targets(graph: Graph, rule: KubeObject) -> list[tuple[str, Mapping[str, str] | None]]:
    """(namespace, pod labels) of the cluster Services a DestinationRule's host stands for."""
    host = normalized(text(rule.spec.get("host")))
    if not host:
        return []
    if is_wildcard(host):
        return [
            (service.namespace, graph.pod_labels(service))
            for (namespace, name), service in sorted(graph.services.items())
            if covers(host, f"{name}.{namespace}.svc.{graph.domain}")
        ]
    resolution = graph.resolve(host, rule.namespace)
    return [(resolution.namespace, graph.pod_labels(resolution.service))] if resolution.namespace else []


def check_plaintext_to_strict(graph: Graph) -> Iterator[Finding]:
    """PA006: no DestinationRule sets ``tls.mode: DISABLE`` towards pods that STRICT mTLS protects."""
    for rule in graph.of_kind("DestinationRule", ISTIO_NETWORKING):
        disabled = [path for path, tls in _tls_settings(rule) if text(tls.get("mode")).upper() == "DISABLE"]
        if not disabled:
            continue
        strict = {}
        for namespace, pods in _targets(graph, rule):
            policy = _strict_policy(graph, namespace, pods)
            if policy is not None:
                strict.setdefault(namespace, policy)
        if not strict:
            continue
        where = "; ".join(f"namespace {ns} ({p.ident})" for ns, p in sorted(strict.items()))
        for path in disabled:
            yield Finding(
                "PA006",
                rule.ident,
                path,
                f"tls.mode DISABLE sends plain text to {text(rule.spec.get('host'))}, but PeerAuthentication "
                f"requires STRICT mTLS in {where}; every request fails",
            )
