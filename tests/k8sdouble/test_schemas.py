"""Custom resources against their structural schemas: unknown fields pruned (or refused), defaults filled in."""

from __future__ import annotations

import pytest
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import BadRequestError

from tests.k8sdouble.defaults import apply_schema_defaults
from tests.k8sdouble.helpers import error_body, managers
from tests.k8sdouble.schemas import prune_unknown, schema_at
from tests.k8sdouble.server import KubernetesDouble

SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "replicas": {"type": "integer", "default": 1},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "rules": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"expr": {"type": "string"}, "for": {"type": "string", "default": "5m"}},
                    },
                },
            },
        }
    },
}


def test_custom_resources_are_pruned_and_defaulted(k8s_double: KubernetesDouble, dynamic_client: DynamicClient):
    rules = dynamic_client.resources.get(api_version="monitoring.coreos.com/v1", kind="PrometheusRule")
    body = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"groups": [{"name": "slo", "rules": [{"record": "x", "expr": "up", "unknownField": 1}]}]},
    }
    with pytest.raises(BadRequestError) as strict:
        rules.server_side_apply(body=body, field_manager="portal", query_params=[("fieldValidation", "Strict")])
    assert "spec.groups[0].rules[0].unknownField" in error_body(strict.value)["message"]

    applied = rules.server_side_apply(body=body, field_manager="portal").to_dict()
    assert applied["spec"]["groups"][0]["rules"] == [{"record": "x", "expr": "up"}]
    assert (
        'k:{"name":"slo"}' in managers(rules.get(name="web", namespace="default"))["portal/Apply"]["f:spec"]["f:groups"]
    )

    monitors = dynamic_client.resources.get(api_version="monitoring.coreos.com/v1", kind="ServiceMonitor")
    monitor = monitors.server_side_apply(
        body={
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {}, "endpoints": [{"port": "http", "basicAuth": {"username": {"key": "u"}}}]},
        },
        field_manager="portal",
    ).to_dict()
    assert monitor["spec"]["endpoints"][0]["basicAuth"]["username"] == {"key": "u", "name": ""}  # schema default


def test_pruning_keeps_declared_free_form_and_embedded_fields() -> None:
    obj = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"labels": {"a": "b"}, "extra": {"anything": 1}, "rules": [{"expr": "up", "typo": 1}], "bogus": 2},
        "status": {},
    }
    unknown: list[str] = []
    prune_unknown(obj, SCHEMA, "", unknown)
    assert unknown == ["spec.rules[0].typo", "spec.bogus", "status"]
    assert obj == {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"labels": {"a": "b"}, "extra": {"anything": 1}, "rules": [{"expr": "up"}]},
    }
    assert schema_at(SCHEMA, ["spec", "rules", "for"]) == {"type": "string", "default": "5m"}
    assert schema_at(SCHEMA, ["spec", "labels", "any"]) == {"type": "string"}
    assert schema_at(SCHEMA, ["spec", "missing"]) is None


def test_defaults_fill_only_maps_that_exist() -> None:
    obj = {"spec": {"rules": [{"expr": "up"}, {"expr": "down", "for": "1m"}]}}
    apply_schema_defaults(obj, SCHEMA, root=True)
    assert obj == {"spec": {"replicas": 1, "rules": [{"expr": "up", "for": "5m"}, {"expr": "down", "for": "1m"}]}}
    empty: dict = {}
    apply_schema_defaults(empty, SCHEMA, root=True)
    assert empty == {}
