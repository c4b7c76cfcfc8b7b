"""prometheus-operator: ServiceMonitors select Services and ports (PA009); alerts reach an AlertmanagerConfig
(PA012)."""

import re
from collections.abc import Iterator, Mapping
from typing import Any

from .graph import CORE, MONITORING, Graph
from .model import Finding, KubeObject, mapping, sequence, text
from .selectors import describe, selects


def _monitored_namespaces(monitor: KubeObject) -> frozenset[str] | None:
    """``namespaceSelector``: ``any: true`` is every namespace (None), else ``matchNames``, else its own."""
    selector = mapping(monitor.spec.get("namespaceSelector"))
    if selector.get("any") is True:
        return None
    names = [text(n) for n in sequence(selector.get("matchNames")) if text(n)]
    return frozenset(names or [monitor.namespace])


def check_service_monitors(graph: Graph) -> Iterator[Finding]:
    """PA009: a ServiceMonitor selects at least one Service of the set, and each endpoint ``port`` is the name of
    a port of a selected Service."""
    for monitor in graph.of_kind("ServiceMonitor", MONITORING):
        selector = mapping(monitor.spec.get("selector"))
        namespaces = _monitored_namespaces(monitor)
        if namespaces is None:
            candidates = graph.of_kind("Service", CORE)
        else:
            candidates = [s for ns in sorted(namespaces) for s in graph.in_namespace("Service", CORE, ns)]
        selected = [s for s in candidates if selects(selector, s.labels)]
        if not selected:
            where = "any namespace" if namespaces is None else f"namespace {', '.join(sorted(namespaces))}"
            yield Finding(
                "PA009",
                monitor.ident,
                "spec.selector",
                f"selects no Service ({describe(selector)} in {where}); Prometheus scrapes nothing",
            )
            continue
        ports = {text(mapping(p).get("name")) for s in selected for p in sequence(s.spec.get("ports"))}
        for i, endpoint in enumerate(sequence(monitor.spec.get("endpoints"))):
            port = text(mapping(endpoint).get("port"))
            if port and port not in ports:
                yield Finding(
                    "PA009",
                    monitor.ident,
                    f"spec.endpoints[{i}].port",
                    f"no selected Service ({', '.join(s.ident for s in selected)}) has a port named {port}; it has "
                    f"{', '.join(sorted(p for p in ports if p)) or 'no named ports'}",
                )


Matcher = tuple[str, str, str]


def _matchers(route: Mapping[str, Any]) -> list[Matcher]:
    matchers = []
    for matcher in sequence(route.get("matchers")):
        matcher = mapping(matcher)
        operator = text(matcher.get("matchType")) or ("=~" if matcher.get("regex") is True else "=")
        value = matcher.get("value")
        matchers.append((text(matcher.get("name")), operator, "" if value is None else str(value)))
    return matchers


def _adds_namespace_matcher(graph: Graph, config: KubeObject) -> bool:
    """Whether the operator confines the config's first-level route to alerts of its namespace: yes unless an
    Alertmanager of the set uses the ``None`` strategy (or exempts its own namespace)."""
    for manager in graph.of_kind("Alertmanager", MONITORING):
        strategy = text(mapping(manager.spec.get("alertmanagerConfigMatcherStrategy")).get("type")) or "OnNamespace"
        if strategy == "None":
            return False
        if strategy == "OnNamespaceExceptForAlertmanagerNamespace" and manager.namespace == config.namespace:
            return False
    return True


def _first_level_matchers(graph: Graph, config: KubeObject) -> list[Matcher]:
    matchers = _matchers(mapping(config.spec.get("route")))
    if _adds_namespace_matcher(graph, config):
        # The operator drops the route's own equality and regex matchers on `namespace` and adds its own.
        matchers = [m for m in matchers if not (m[0] == "namespace" and m[1] in ("=", "=~"))]
        matchers.append(("namespace", "=", config.namespace))
    return matchers


def _satisfied(matcher: Matcher, labels: Mapping[str, str | None]) -> bool:
    """Alertmanager's matching: a missing label is the empty string, regexes are anchored; a templated label
    value is unknown and taken to match."""
    name, operator, expected = matcher
    actual = labels.get(name, "")
    if actual is None:
        return True
    if operator == "=":
        return actual == expected
    if operator == "!=":
        return actual != expected
    try:
        found = re.fullmatch(expected, actual) is not None
    except re.error:
        return True
    return found if operator == "=~" else not found


def _alert_labels(rule: Mapping[str, Any], namespace: str) -> dict[str, str | None]:
    """An alert's static labels. Without a static ``namespace`` label the alert carries the rule's namespace
    (from its series, or the Prometheus's ``enforcedNamespaceLabel``)."""
    labels: dict[str, str | None] = {"namespace": namespace}
    for key, value in mapping(rule.get("labels")).items():
        value = "" if value is None else str(value)
        labels[str(key)] = None if "{{" in value else value
    return labels


def check_alert_routing(graph: Graph) -> Iterator[Finding]:
    """PA012: each alert of a PrometheusRule matches the first-level route of an AlertmanagerConfig of its
    namespace."""
    configs: dict[str, list[KubeObject]] = {}
    for config in graph.of_kind("AlertmanagerConfig", MONITORING):
        if "route" in config.spec:
            configs.setdefault(config.namespace, []).append(config)
    routes = {ns: [(c, _first_level_matchers(graph, c)) for c in found] for ns, found in configs.items()}
    for rules in graph.of_kind("PrometheusRule", MONITORING):
        candidates = routes.get(rules.namespace, [])
        for i, group in enumerate(sequence(rules.spec.get("groups"))):
            for j, rule in enumerate(sequence(mapping(group).get("rules"))):
                rule = mapping(rule)
                alert = text(rule.get("alert"))
                if not alert:
                    continue
                labels = _alert_labels(rule, rules.namespace)
                if any(all(_satisfied(m, labels) for m in matchers) for _, matchers in candidates):
                    continue
                tried = ", ".join(c.ident for c, _ in candidates) or "none"
                yield Finding(
                    "PA012",
                    rules.ident,
                    f"spec.groups[{i}].rules[{j}]",
                    f"alert {alert} ({_label_text(labels)}) matches the route of no AlertmanagerConfig in namespace "
                    f"{rules.namespace} (tried: {tried})",
                )


def _label_text(labels: Mapping[str, str | None]) -> str:
    return ", ".join(f"{k}={'<templated>' if v is None else v}" for k, v in sorted(labels.items()))
