"""Create, read, replace and delete: preconditions, conflicts, namespaces taking their objects, the status
subresource and dry runs."""

from __future__ import annotations

import pytest
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import BadRequestError, ConflictError, NotFoundError, UnprocessibleEntityError

from tests.k8sdouble.helpers import config_map, error_body, service
from tests.k8sdouble.server import KubernetesDouble


def test_replace_with_a_stale_resource_version_conflicts(config_maps, k8s_namespace: str) -> None:
    created = config_maps.create(body=config_map("settings", k8s_namespace, {"a": "1"})).to_dict()

    current = {**created, "data": {"a": "2"}}
    replaced = config_maps.replace(body=current)
    assert replaced.data.a == "2"

    stale = {**created, "data": {"a": "3"}}
    with pytest.raises(ConflictError) as conflict:
        config_maps.replace(body=stale)
    assert error_body(conflict.value)["reason"] == "Conflict"


def test_create_twice_and_invalid_bodies(config_maps, services, k8s_namespace: str) -> None:
    config_maps.create(body=config_map("settings", k8s_namespace, {}))
    with pytest.raises(ConflictError) as exists:
        config_maps.create(body=config_map("settings", k8s_namespace, {}))
    assert error_body(exists.value)["reason"] == "AlreadyExists"

    with pytest.raises(BadRequestError):
        config_maps.replace(body=config_map("other", k8s_namespace, {}), name="settings")
    with pytest.raises(UnprocessibleEntityError) as invalid:
        services.create(body=service("Not_A_Label", k8s_namespace, [{"port": 80}]))
    assert error_body(invalid.value)["details"]["causes"][0]["field"] == "metadata.name"


def test_delete_then_get_is_not_found(config_maps, k8s_namespace: str) -> None:
    config_maps.create(body=config_map("settings", k8s_namespace, {}))

    status = config_maps.delete(name="settings", namespace=k8s_namespace)
    assert (status.kind, status.status) == ("Status", "Success")
    with pytest.raises(NotFoundError):
        config_maps.get(name="settings", namespace=k8s_namespace)
    with pytest.raises(NotFoundError):
        config_maps.delete(name="settings", namespace=k8s_namespace)

    for name, tier in (("web", "web"), ("api", "api")):
        config_maps.create(body=config_map(name, k8s_namespace, {}, labels={"tier": tier}))
    deleted = config_maps.delete(namespace=k8s_namespace, label_selector="tier=web").to_dict()
    assert [item["metadata"]["name"] for item in deleted["items"]] == ["web"]
    assert [
        item["metadata"]["name"] for item in config_maps.get(namespace=k8s_namespace, label_selector="tier").items
    ] == ["api"]


def test_namespace_deletion_deletes_its_objects(
    k8s_double: KubernetesDouble, dynamic_client: DynamicClient, config_maps
) -> None:
    namespaces = dynamic_client.resources.get(api_version="v1", kind="Namespace")
    created = namespaces.create(body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "payments"}})
    assert created.metadata.labels["kubernetes.io/metadata.name"] == "payments"
    assert (created.spec.finalizers, created.status.phase) == (["kubernetes"], "Active")
    config_maps.create(body=config_map("settings", "payments", {}))
    config_maps.create(body=config_map("settings", "default", {}))

    namespaces.delete(name="payments")

    with pytest.raises(NotFoundError):
        config_maps.get(name="settings", namespace="payments")
    assert [obj["metadata"]["namespace"] for obj in k8s_double.objects("ConfigMap")] == ["default"]


def test_status_subresource_is_separate_from_the_object(k8s_double: KubernetesDouble, dynamic_client: DynamicClient):
    certificates = dynamic_client.resources.get(api_version="cert-manager.io/v1", kind="Certificate")
    body = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"secretName": "web-tls", "dnsNames": ["web.example.com"], "issuerRef": {"name": "ca"}},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }
    created = certificates.server_side_apply(body=body, field_manager="portal")
    assert "status" not in created.to_dict()

    ready = {"conditions": [{"type": "Ready", "status": "True", "reason": "Issued"}]}
    certificates.status.patch(
        body={"status": ready}, name="web", namespace="default", content_type="application/merge-patch+json"
    )
    again = certificates.server_side_apply(body=body, field_manager="portal")
    assert again.to_dict()["status"] == ready
    assert again.metadata.generation == 1


def test_dry_run_changes_nothing(k8s_double: KubernetesDouble, config_maps) -> None:
    result = config_maps.server_side_apply(
        body=config_map("settings", "default", {"a": "1"}), field_manager="portal", dry_run="All"
    )
    assert result.data.a == "1"
    assert k8s_double.objects("ConfigMap") == []
    assert k8s_double.changed_count == 0
