"""The resource graph: pure DOT text from the rendered resources, drawn by Graphviz, safe to inline."""

import re
import xml.etree.ElementTree as ET

from provisioning.desired import render_service
from provisioning.graph import build_graph, quote, render_svg, sanitize_svg, to_dot
from provisioning.spec import Exposure, OnCallPair, PlatformSpec, Receivers, ServiceSpec, TeamSpec

SVG, XLINK = "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"
EXTERNAL = ServiceSpec(
    name="shop",
    team=TeamSpec(slug="payments", name="Payments", incident_sns_fingerprint="f" * 64),
    exposure=Exposure(level="external", hostnames=("shop.example.com",)),
    oncall=OnCallPair(incident_commander="alice", resolver="bob"),
    receivers=Receivers(alertmanager_url="https://incidents.example.com/alertmanager"),
)


def edges(graph) -> set[tuple[str, str, str]]:
    label = {n.id: n.label.replace("\n", " ") for n in graph.nodes}
    return {(label[e.source], label[e.target], e.label) for e in graph.edges}


def test_service_to_objects_to_aws_to_alarm_to_topic_to_the_oncall_pair():
    graph = build_graph(EXTERNAL, render_service(EXTERNAL, PlatformSpec()))
    found = edges(graph)
    assert ("Service shop team payments", "Namespace shop", "namespace") in found
    assert ("Namespace shop", "VirtualService shop", "") in found
    assert ("VirtualService shop", "route53.Record shop.example.com", "DNS") in found
    assert ("route53.Record shop.example.com", "acm.Certificate shop.example.com", "TLS") in found
    assert ("Namespace shop", "logs.LogGroup /eks/sandbox/payments/shop", "logs") in found
    assert ("logs.MetricFilter portal-shop-5xx", "cloudwatch.MetricAlarm portal-shop-alb-5xx", "metric") in found
    assert ("cloudwatch.MetricAlarm portal-shop-alb-5xx", "sns.Topic portal-payments-incidents", "notifies") in found
    # The outage path through Prometheus: rules -> route -> receiver -> the pair.
    assert ("PrometheusRule shop", "AlertmanagerConfig shop", "team=payments") in found
    assert ("AlertmanagerConfig shop", "Incident tool Alertmanager source", "critical") in found
    assert ("Incident tool Alertmanager source", "Incident commander alice", "assigns") in found
    assert ("Incident tool Alertmanager source", "Resolver bob", "assigns") in found
    # ... and through CloudWatch: alarm -> topic -> SNS source -> the pair.
    assert ("sns.Topic portal-payments-incidents", "Incident tool CloudWatch (SNS) source", "subscription") in found
    assert ("Incident tool CloudWatch (SNS) source", "Resolver bob", "assigns") in found


def test_a_missing_source_shows_as_a_dead_end():
    svc = ServiceSpec(name="shop", team=TeamSpec(slug="payments", name="P"))
    found = edges(build_graph(svc, render_service(svc, PlatformSpec())))
    assert ("AlertmanagerConfig shop", "No Alertmanager source", "critical") in found
    assert ("sns.Topic portal-payments-incidents", "No SNS source", "subscription") in found


def test_the_dot_text_is_deterministic_and_uses_its_own_node_ids():
    resources = render_service(EXTERNAL, PlatformSpec())
    dot = to_dot(build_graph(EXTERNAL, resources))
    assert dot == to_dot(build_graph(EXTERNAL, list(resources)))
    assert set(re.findall(r"^\s+(\w+) \[label=", dot, re.M)) == {f"n{i}" for i in range(len(resources) + 6)}
    assert "subgraph cluster_kubernetes" in dot and "subgraph cluster_aws" in dot


def test_names_people_chose_cannot_break_out_of_their_labels():
    hostile = 'x" shape=none URL="javascript:alert(1)"] n0 -> n1 [label="\\N<script>'
    assert quote(hostile) == '"x\\" shape=none URL=\\"javascript:alert(1)\\"] n0 -> n1 [label=\\"\\\\N<script>"'
    svc = ServiceSpec(
        name="shop",
        team=TeamSpec(slug="payments", name="P"),
        oncall=OnCallPair(incident_commander=hostile, resolver="line\nbreak\x07"),
    )
    graph = build_graph(svc, render_service(svc, PlatformSpec()))
    svg = render_svg(to_dot(graph), title=graph.title)
    root = ET.fromstring(svg)  # noqa: S314 - Graphviz's output, already reduced by the sanitiser
    texts = [t.text for t in root.iter(f"{{{SVG}}}text")]
    assert hostile in texts  # the whole name, shown as text
    assert "line" in texts and "break" in texts  # a line break in a name is a line break, control characters go
    assert not [e for e in root.iter() if set(e.attrib) & {"href", "URL", f"{{{XLINK}}}href"}]
    assert not [e for e in root.iter() if e.tag.endswith("script")]
    assert len([g for g in root.iter(f"{{{SVG}}}g") if g.get("class") == "edge"]) == len(graph.edges)
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and 'role="img"' in svg


def test_the_sanitiser_keeps_drawing_and_drops_anything_active():
    dirty = (
        '<?xml version="1.0"?><!DOCTYPE svg><svg xmlns="http://www.w3.org/2000/svg" '
        'xmlns:xlink="http://www.w3.org/1999/xlink" onload="alert(1)" width="10pt">'
        '<g id="a" onclick="x()"><title>t</title><a xlink:href="javascript:alert(1)"><text>hi</text></a>'
        '<text x="1" style="fill:url(javascript:1)">ok</text><script>alert(1)</script>'
        '<foreignObject><div>x</div></foreignObject><polygon points="0,0 1,1"/></g></svg>'
    )
    clean = sanitize_svg(dirty, title="A picture")
    assert "onload" not in clean and "onclick" not in clean and "script" not in clean
    assert "javascript" not in clean and "foreignObject" not in clean and "style" not in clean
    assert ">ok</text>" in clean and "<polygon" in clean and 'aria-label="A picture"' in clean
