"""A service's resources as a picture: service → Kubernetes objects → AWS resources, and the two paths an outage
takes to people: rules → route → receivers (Slack, the incident tool's Alertmanager source) → the on-call pair, and
alarm → the team's topic → the incident tool's SNS source → the on-call pair. Upstreams outside the cluster show
behind their ServiceEntry, with the DestinationRule that says who does TLS.

``build_graph`` and ``to_dot`` are pure (rendered resources in, DOT text out); ``render_svg`` runs Graphviz
``dot`` and keeps only plain drawing elements of its SVG. Names in labels were chosen by people, so every
label is escaped for DOT and node ids never come from them.
"""

import re
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from .aws.kinds import ALARM, CERTIFICATE, LOG_GROUP, METRIC_FILTER, RECORD, TOPIC
from .desired import render_service
from .errors import GraphError
from .resources import AWS, KUBERNETES, Resource
from .snapshot import load_service, platform_snapshot
from .spec import OnCallPair, ServiceSpec

DOT_TIMEOUT_SECONDS = 10
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
# What Graphviz draws with; anything else (scripts, links, foreign objects) is dropped.
SVG_ELEMENTS = {"svg", "g", "title", "polygon", "polyline", "path", "ellipse", "text"}

# Kubernetes kinds whose hostnames reach the load balancer (DNS records point at them).
FRONT_DOORS = ("VirtualService", "Ingress")
# Kubernetes kinds whose alerts page people, and the ones that raise them.
ALERT_ROUTING = ("AlertmanagerConfig",)
ALERT_RULES = ("PrometheusRule",)


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    group: str  # "service" | "kubernetes" | "aws" | "external" | "receiver" | "oncall"


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str = ""


@dataclass
class Graph:
    title: str
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def add(self, label: str, group: str) -> str:
        node = Node(f"n{len(self.nodes)}", label, group)
        self.nodes.append(node)
        return node.id

    def link(self, source: str, target: str, label: str = "") -> None:
        self.edges.append(Edge(source, target, label))


def _resource_label(resource: Resource) -> str:
    return f"{resource.kind}\n{resource.name}"


def build_graph(svc: ServiceSpec, resources: list[Resource], oncall: OnCallPair | None = None) -> Graph:
    """Nodes and edges of one service's rendered resources (pure)."""
    oncall = oncall if oncall is not None else svc.oncall
    graph = Graph(title=f"Resources of {svc.name}")
    root = graph.add(f"Service {svc.name}\nteam {svc.team.slug}", "service")
    ids: dict[str, str] = {}
    for resource in resources:
        ids[resource.key] = graph.add(_resource_label(resource), resource.provider)

    def of(provider: str, *kinds: str) -> list[Resource]:
        return [r for r in resources if r.provider == provider and r.kind in kinds]

    kube = [r for r in resources if r.provider == KUBERNETES]
    namespace = next((r for r in kube if r.kind == "Namespace"), None)
    parent = ids[namespace.key] if namespace else root
    if namespace:
        graph.link(root, parent, "namespace")
    for resource in kube:
        if resource is not namespace:
            graph.link(parent, ids[resource.key])

    _upstreams(graph, ids, of(KUBERNETES, "ServiceEntry"), of(KUBERNETES, "DestinationRule"))

    doors = of(KUBERNETES, *FRONT_DOORS)
    for record in of(AWS, RECORD):
        for door in doors or [None]:
            graph.link(ids[door.key] if door else root, ids[record.key], "DNS")
        for cert in of(AWS, CERTIFICATE):
            if cert.name == record.name:
                graph.link(ids[record.key], ids[cert.key], "TLS")

    for log_group in of(AWS, LOG_GROUP):
        graph.link(parent, ids[log_group.key], "logs")
        for metric_filter in of(AWS, METRIC_FILTER):
            if metric_filter.namespace == log_group.name:
                graph.link(ids[log_group.key], ids[metric_filter.key], "5xx count")
    topics = of(AWS, TOPIC)
    for alarm in of(AWS, ALARM):
        for metric_filter in of(AWS, METRIC_FILTER):
            graph.link(ids[metric_filter.key], ids[alarm.key], "metric")
        for topic in topics:
            graph.link(ids[alarm.key], ids[topic.key], "notifies")

    linked = {e.target for e in graph.edges}
    for resource in resources:
        if resource.provider == AWS and ids[resource.key] not in linked:
            graph.link(root, ids[resource.key])

    people = [
        graph.add(f"Incident commander\n{oncall.incident_commander or 'no one on call'}", "oncall"),
        graph.add(f"Resolver\n{oncall.resolver or 'no one on call'}", "oncall"),
    ]
    _outage_paths(graph, svc, ids, of(KUBERNETES, *ALERT_RULES), of(KUBERNETES, *ALERT_ROUTING), topics, people)
    return graph


def _upstreams(graph: Graph, ids: dict[str, str], entries: list[Resource], rules: list[Resource]) -> None:
    """Each external dependency: its ServiceEntry -> the upstream outside the cluster, and the DestinationRule for
    that host -> the ServiceEntry, labelled with who does TLS."""
    for entry in entries:
        spec = entry.body["spec"]
        ports = ", ".join(f"{p['number']}/{p['protocol']}" for p in spec.get("ports", []))
        for host in spec.get("hosts", []):
            upstream = graph.add(f"{host}\n{ports}", "external")
            graph.link(ids[entry.key], upstream, "egress")
            for rule in rules:
                if rule.body["spec"].get("host") == host and rule.namespace == entry.namespace:
                    mode = rule.body["spec"].get("trafficPolicy", {}).get("tls", {}).get("mode", "")
                    tls = "sidecar originates TLS" if mode == "SIMPLE" else "TLS by the application"
                    graph.link(ids[rule.key], ids[entry.key], tls)


def _outage_paths(
    graph: Graph,
    svc: ServiceSpec,
    ids: dict[str, str],
    rules: list[Resource],
    routing: list[Resource],
    topics: list[Resource],
    people: list[str],
) -> None:
    """How an outage reaches people: rules -> route -> receivers -> the pair on call, and alarm -> topic -> the
    incident tool's SNS source -> the pair. A source the team has not set shows as missing, a dead end."""
    slack = graph.add(f"Slack\n{svc.team.slack_channel or 'no channel'}", "receiver")
    alertmanager_source = graph.add(
        "Incident tool\nAlertmanager source" if svc.receivers.alertmanager_url else "No Alertmanager source",
        "receiver",
    )
    sns_source = graph.add(
        "Incident tool\nCloudWatch (SNS) source" if svc.team.incident_sns_fingerprint else "No SNS source",
        "receiver",
    )
    for rule in rules:
        for route in routing:
            graph.link(ids[rule.key], ids[route.key], f"team={svc.team.slug}")
    for route in routing:
        graph.link(ids[route.key], slack, "every alert")
        graph.link(ids[route.key], alertmanager_source, "critical")
    for topic in topics:
        graph.link(ids[topic.key], sns_source, "subscription")
    for source in (alertmanager_source, sns_source):
        for person in people:
            graph.link(source, person, "assigns")
    for person in people:
        graph.link(slack, person, "names")


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def quote(text: str) -> str:
    """A DOT quoted string that shows ``text`` literally (line breaks kept as centred lines)."""
    text = _CONTROL.sub("", text).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + text.replace("\r", "").replace("\n", "\\n") + '"'


STYLE = {
    "service": 'shape=box style="rounded,filled,bold" fillcolor="#dbeafe" color="#1e3a8a"',
    KUBERNETES: 'shape=box style="rounded,filled" fillcolor="#e0f2fe" color="#0b5cad"',
    AWS: 'shape=box style="filled" fillcolor="#fef3c7" color="#8a5a00"',
    "external": 'shape=box style="dashed" color="#57606a"',
    "receiver": 'shape=box style="rounded,filled" fillcolor="#f3e8ff" color="#6b21a8"',
    "oncall": 'shape=ellipse style="filled" fillcolor="#dcfce7" color="#1a7f37"',
}
CLUSTERS = {
    KUBERNETES: "Kubernetes",
    AWS: "AWS",
    "external": "Outside the cluster",
    "receiver": "Notified",
    "oncall": "On call now",
}


def to_dot(graph: Graph) -> str:
    """DOT text of the graph (pure, deterministic)."""
    lines = [
        f"digraph {quote(graph.title)} {{",
        '  graph [rankdir=LR fontname="Helvetica" fontsize=12 nodesep=0.25 ranksep=0.6]',
        '  node [fontname="Helvetica" fontsize=11]',
        '  edge [fontname="Helvetica" fontsize=9 color="#57606a" fontcolor="#3d444d"]',
    ]
    for node in graph.nodes:
        if node.group == "service":
            lines.append(f"  {node.id} [label={quote(node.label)} {STYLE['service']}]")
    for group, title in CLUSTERS.items():
        members = [n for n in graph.nodes if n.group == group]
        if not members:
            continue
        lines.append(f"  subgraph cluster_{group} {{")
        lines.append(f'    label={quote(title)} style="rounded" color="#d0d7de"')
        lines.extend(f"    {n.id} [label={quote(n.label)} {STYLE[group]}]" for n in members)
        lines.append("  }")
    for edge in graph.edges:
        label = f" [label={quote(edge.label)}]" if edge.label else ""
        lines.append(f"  {edge.source} -> {edge.target}{label}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_svg(dot_text: str, *, title: str = "") -> str:
    """SVG markup of the DOT text, reduced to drawing elements and safe to inline in a page."""
    try:
        result = subprocess.run(
            ["dot", "-Tsvg"],
            input=dot_text.encode(),
            capture_output=True,
            timeout=DOT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GraphError(f"Graphviz could not draw the graph: {exc}") from exc
    if result.returncode != 0:
        raise GraphError(f"Graphviz could not draw the graph: {result.stderr.decode(errors='replace').strip()}")
    return sanitize_svg(result.stdout.decode(), title=title)


def sanitize_svg(markup: str, *, title: str = "") -> str:
    """Keep Graphviz's drawing elements and presentational attributes; drop scripts, links and handlers."""
    start = markup.find("<svg")
    if start < 0:
        raise GraphError("Graphviz returned no SVG")
    root = ET.fromstring(markup[start:])  # noqa: S314 - our own dot's output, without a DOCTYPE
    _clean(root)
    root.set("role", "img")
    if title:
        root.set("aria-label", title)
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    return ET.tostring(root, encoding="unicode")


def _clean(element: ET.Element) -> None:
    for child in list(element):
        if child.tag.removeprefix(f"{{{SVG_NS}}}") not in SVG_ELEMENTS:
            element.remove(child)
        else:
            _clean(child)
    for name in list(element.attrib):
        local = name.rsplit("}", 1)[-1].lower()
        if local.startswith("on") or local in ("href", "src", "style") or name.startswith(f"{{{XLINK_NS}}}"):
            del element.attrib[name]


def service_graph(name: str) -> tuple[Graph, str]:
    """The graph of a registered service and its SVG, from what the portal would render for it now."""
    svc = load_service(name)
    graph = build_graph(svc, render_service(svc, platform_snapshot()))
    return graph, render_svg(to_dot(graph), title=graph.title)
