"""The resource every stage passes along: its identity, its digest, sealed secrets, its order, its YAML."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import yaml

from provisioning.resources import (
    AWS,
    KUBERNETES,
    Resource,
    body_digest,
    canonical_json,
    k8s,
    seal,
    sort_resources,
    to_yaml,
    to_yaml_documents,
)


def manifest(kind: str, name: str, namespace: str = "", api_version: str = "v1", **fields: object) -> dict:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **fields}


def sha256(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


# --- identity and digests -------------------------------------------------------------------------------------------


def test_the_key_names_provider_api_version_kind_namespace_and_name() -> None:
    rule = k8s(manifest("PrometheusRule", "web", "payments", "monitoring.coreos.com/v1"))
    assert rule.key == "kubernetes|monitoring.coreos.com/v1|PrometheusRule|payments|web"
    assert k8s(manifest("Namespace", "payments")).key == "kubernetes|v1|Namespace||payments"
    assert (
        Resource(AWS, "logs.LogGroup", "/eks/sandbox/payments/web").key
        == "aws||logs.LogGroup||/eks/sandbox/payments/web"
    )
    assert rule.label() == "PrometheusRule payments/web"
    assert Resource(AWS, "sns.Topic", "payments").label() == "sns.Topic payments"


def test_identity_ignores_the_body() -> None:
    one = k8s(manifest("ConfigMap", "settings", "payments", data={"a": "1"}))
    other = replace(one, body={"changed": True})
    assert one == other and hash(one) == hash(other)
    assert one.digest != other.digest


def test_the_digest_is_of_the_canonical_json_so_key_order_does_not_matter() -> None:
    first = {"spec": {"b": 1, "a": [1, 2]}, "kind": "X"}
    second = {"kind": "X", "spec": {"a": [1, 2], "b": 1}}
    assert canonical_json(first) == '{"kind":"X","spec":{"a":[1,2],"b":1}}'
    assert body_digest(first) == body_digest(second) == hashlib.sha256(canonical_json(first).encode()).hexdigest()
    assert body_digest({"spec": {"a": [2, 1], "b": 1}}) != body_digest(first)  # list order is meaningful
    assert len(body_digest({})) == 64


def test_k8s_wraps_a_manifest_and_a_secret_is_always_sensitive() -> None:
    service = k8s(manifest("Service", "web", "payments", spec={"type": "ClusterIP"}))
    assert (service.provider, service.kind, service.name, service.namespace, service.api_version) == (
        KUBERNETES,
        "Service",
        "web",
        "payments",
        "v1",
    )
    assert not service.sensitive
    assert k8s(manifest("Secret", "hook", "payments")).sensitive
    assert k8s(manifest("ConfigMap", "hook", "payments"), sensitive=True).sensitive


# --- seal -----------------------------------------------------------------------------------------------------------


def test_sealing_replaces_secret_values_by_their_digests() -> None:
    body = manifest("Secret", "hook", "payments", type="Opaque", data={"url": "aHR0cHM="}, stringData={"port": 443})
    resource = k8s(body)
    sealed = seal(resource)
    assert sealed.body == {
        **body,
        "data": {"url": sha256("aHR0cHM=")},
        "stringData": {"port": sha256("443")},
    }
    assert resource.body["data"] == {"url": "aHR0cHM="}  # the rendered resource is left as it was
    assert seal(sealed) == sealed and seal(sealed).body == sealed.body  # sealing twice changes nothing
    assert sealed.digest != resource.digest


def test_sealing_leaves_resources_that_are_not_sensitive_alone() -> None:
    config = k8s(manifest("ConfigMap", "settings", "payments", data={"level": "info"}))
    assert seal(config) is config
    empty = k8s(manifest("Secret", "empty", "payments", type="Opaque"))
    assert seal(empty).body == empty.body


# --- order ----------------------------------------------------------------------------------------------------------


def test_sort_order_kubernetes_first_then_what_others_point_at() -> None:
    resources = [
        Resource(AWS, "cloudwatch.Alarm", "web-5xx"),
        Resource(AWS, "logs.MetricFilter", "web-5xx"),
        k8s(manifest("VirtualService", "web", "payments", "networking.istio.io/v1")),
        Resource(AWS, "logs.LogGroup", "/eks/sandbox/payments/web"),
        k8s(manifest("Service", "web", "payments")),
        k8s(manifest("ConfigMap", "b", "payments")),
        k8s(manifest("ConfigMap", "a", "payments")),
        k8s(manifest("ConfigMap", "a", "billing")),
        Resource(AWS, "sns.Topic", "payments"),
        k8s(manifest("DestinationRule", "web", "payments", "networking.istio.io/v1")),
        k8s(manifest("Secret", "hook", "payments")),
        k8s(manifest("ServiceAccount", "web", "payments")),
        k8s(manifest("Namespace", "payments")),
    ]
    ordered = [(r.provider, r.kind, r.namespace, r.name) for r in sort_resources(resources)]
    assert ordered == [
        (KUBERNETES, "Namespace", "", "payments"),
        (KUBERNETES, "ServiceAccount", "payments", "web"),
        (KUBERNETES, "Secret", "payments", "hook"),
        (KUBERNETES, "ConfigMap", "billing", "a"),
        (KUBERNETES, "ConfigMap", "payments", "a"),
        (KUBERNETES, "ConfigMap", "payments", "b"),
        (KUBERNETES, "Service", "payments", "web"),
        (KUBERNETES, "DestinationRule", "payments", "web"),
        (KUBERNETES, "VirtualService", "payments", "web"),
        (AWS, "sns.Topic", "", "payments"),
        (AWS, "logs.LogGroup", "", "/eks/sandbox/payments/web"),
        (AWS, "logs.MetricFilter", "", "web-5xx"),
        (AWS, "cloudwatch.Alarm", "", "web-5xx"),
    ]
    assert sort_resources(list(reversed(resources))) == sort_resources(resources)


# --- YAML -----------------------------------------------------------------------------------------------------------


def test_yaml_repeats_shared_values_instead_of_aliasing_them() -> None:
    labels = {"app.kubernetes.io/name": "web", "portal.io/team": "payments"}
    body = manifest("Service", "web", "payments", spec={"selector": labels})
    body["metadata"]["labels"] = labels  # the same dict twice, as builders share them

    text = to_yaml(body)

    assert "&" not in text and "*" not in text
    assert text.count("portal.io/team: payments") == 2
    assert yaml.safe_load(text) == body


def test_yaml_keeps_key_order_and_writes_multi_line_strings_as_blocks() -> None:
    body = {"kind": "ConfigMap", "apiVersion": "v1", "data": {"fluent-bit.conf": "[INPUT]\n    Name tail\n"}}
    text = to_yaml(body)
    assert text.splitlines()[:2] == ["kind: ConfigMap", "apiVersion: v1"]
    assert "fluent-bit.conf: |\n    [INPUT]\n        Name tail\n" in text
    assert yaml.safe_load(text) == body

    trailing = {"data": {"x": "line with space \nnext"}}
    assert "|" not in to_yaml(trailing)  # a literal block would lose the trailing space
    assert yaml.safe_load(to_yaml(trailing)) == trailing


def test_yaml_documents_are_separated_and_read_back() -> None:
    bodies = [manifest("Namespace", "payments"), manifest("ServiceAccount", "web", "payments")]
    text = to_yaml_documents(bodies)
    assert text.count("---") == 1
    assert list(yaml.safe_load_all(text)) == bodies
