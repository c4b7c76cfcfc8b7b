"""Server-side apply: creation and no-ops, conflicts and forcing, shared and dropped fields, keyed lists."""

from __future__ import annotations

import pytest
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import BadRequestError, ConflictError

from tests.k8sdouble.apply import ServerSideApply, conflict_error, merge_applied
from tests.k8sdouble.helpers import config_map, error_body, managers, service
from tests.k8sdouble.kinds import BUILTIN_TYPES
from tests.k8sdouble.managedfields import ManagedEntry, Shape
from tests.k8sdouble.server import KubernetesDouble

CONFIG_MAP = next(rtype for rtype in BUILTIN_TYPES if rtype.kind == "ConfigMap")
SERVICE = next(rtype for rtype in BUILTIN_TYPES if rtype.kind == "Service")


def entry(manager: str, operation: str, *paths: tuple[str, ...]) -> ManagedEntry:
    return ManagedEntry(manager, operation, "v1", "", "2025-01-01T00:00:00Z", frozenset(paths))


def test_apply_creates_then_is_a_no_op_then_updates(dynamic_client: DynamicClient, services, k8s_namespace: str):
    body = service("web", k8s_namespace, [{"name": "http-web", "port": 80, "protocol": "TCP"}])

    created = services.server_side_apply(body=body, field_manager="portal")
    spec = created.to_dict()["spec"]
    assert spec["type"] == "ClusterIP"
    assert spec["clusterIP"]
    assert spec["ports"] == [{"name": "http-web", "port": 80, "protocol": "TCP", "targetPort": 80}]
    assert "f:clusterIP" not in managers(created)["portal/Apply"]["f:spec"]  # server-filled, owned by nobody

    again = services.server_side_apply(body=body, field_manager="portal")
    assert again.metadata.resourceVersion == created.metadata.resourceVersion

    body["spec"]["ports"][0]["targetPort"] = 8080
    updated = services.server_side_apply(body=body, field_manager="portal")
    assert updated.metadata.resourceVersion != created.metadata.resourceVersion
    assert updated.spec.ports[0].targetPort == 8080
    assert updated.spec.clusterIP == created.spec.clusterIP


def test_no_op_apply_is_a_write_request_that_changes_nothing(k8s_double: KubernetesDouble, config_maps) -> None:
    body = config_map("settings", "default", {"level": "info"})
    config_maps.server_side_apply(body=body, field_manager="portal")
    k8s_double.clear_requests()

    config_maps.server_side_apply(body=body, field_manager="portal")
    config_maps.get(name="settings", namespace="default")

    assert (k8s_double.write_count, k8s_double.changed_count, k8s_double.read_count) == (1, 0, 1)
    apply_request = k8s_double.requests[0]
    assert (apply_request.method, apply_request.content_type) == ("PATCH", "application/apply-patch+yaml")
    assert apply_request.query == {"fieldManager": "portal"}
    assert apply_request.body["data"] == {"level": "info"}
    assert (apply_request.status, apply_request.changed) == (200, False)


def test_apply_conflicts_with_another_manager_until_forced(config_maps, k8s_namespace: str) -> None:
    config_maps.server_side_apply(
        body=config_map("settings", k8s_namespace, {"level": "info", "mode": "a"}), field_manager="portal"
    )
    config_maps.patch(
        body={"data": {"level": "debug"}},
        name="settings",
        namespace=k8s_namespace,
        content_type="application/merge-patch+json",
        field_manager="kubectl-edit",
    )

    with pytest.raises(ConflictError) as conflict:
        config_maps.server_side_apply(
            body=config_map("settings", k8s_namespace, {"level": "warn", "mode": "a"}), field_manager="portal"
        )
    status = error_body(conflict.value)
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "Conflict", 409)
    [cause] = status["details"]["causes"]
    assert cause["type"] == "FieldManagerConflict"
    assert cause["field"] == ".data.level"
    assert cause["message"].startswith('conflict with "kubectl-edit"')

    forced = config_maps.server_side_apply(
        body=config_map("settings", k8s_namespace, {"level": "warn", "mode": "a"}),
        field_manager="portal",
        force_conflicts=True,
    )
    assert forced.data.level == "warn"
    owners = managers(forced)
    assert "f:level" in owners["portal/Apply"]["f:data"]
    assert "kubectl-edit/Update" not in owners  # its only field moved to the portal


def test_apply_with_the_same_value_shares_ownership(config_maps, k8s_namespace: str) -> None:
    config_maps.server_side_apply(body=config_map("shared", k8s_namespace, {"a": "1"}), field_manager="portal")
    result = config_maps.server_side_apply(body=config_map("shared", k8s_namespace, {"a": "1"}), field_manager="other")
    owners = managers(result)
    assert owners["portal/Apply"]["f:data"] == owners["other/Apply"]["f:data"] == {"f:a": {}}


def test_fields_the_manager_stops_applying_are_removed(config_maps, k8s_namespace: str) -> None:
    first = config_map(
        "settings", k8s_namespace, {"keep": "1", "drop": "2", "shared": "3"}, labels={"a": "1", "b": "2"}
    )
    config_maps.server_side_apply(body=first, field_manager="portal")
    config_maps.server_side_apply(body=config_map("settings", k8s_namespace, {"shared": "3"}), field_manager="other")

    second = config_map("settings", k8s_namespace, {"keep": "1"}, labels={"a": "1"})
    result = config_maps.server_side_apply(body=second, field_manager="portal").to_dict()

    assert result["data"] == {"keep": "1", "shared": "3"}  # "shared" stays: another manager still owns it
    assert result["metadata"]["labels"] == {"a": "1"}


def test_keyed_lists_merge_item_by_item(services, k8s_namespace: str) -> None:
    services.server_side_apply(
        body=service("web", k8s_namespace, [{"name": "http-web", "port": 80, "protocol": "TCP"}]),
        field_manager="portal",
    )
    sidecar = service("web", k8s_namespace, [{"name": "tcp-status", "port": 15020, "protocol": "TCP"}])
    del sidecar["spec"]["selector"]
    services.server_side_apply(body=sidecar, field_manager="injector")

    result = services.server_side_apply(
        body=service("web", k8s_namespace, [{"name": "http-web", "port": 80, "protocol": "TCP"}]),
        field_manager="portal",
    )
    assert sorted(port.port for port in result.spec.ports) == [80, 15020]


def test_apply_requires_a_field_manager(config_maps, k8s_namespace: str) -> None:
    with pytest.raises(BadRequestError):
        config_maps.server_side_apply(body=config_map("settings", k8s_namespace, {"a": "1"}))


def test_only_different_values_of_fields_others_own_conflict() -> None:
    live = {"metadata": {"name": "settings"}, "data": {"level": "debug", "mode": "a"}}
    managed = (entry("portal", "Apply", ("f:data", "f:level"), ("f:data", "f:mode")),)
    managed += (entry("kubectl-edit", "Update", ("f:data", "f:level")),)

    def apply(data: dict[str, str]) -> ServerSideApply:
        return ServerSideApply(Shape(CONFIG_MAP, "v1"), "main", "portal", "", live, managed, {"data": data})

    assert apply({"level": "debug", "mode": "b"}).conflicts() == []
    [(owner, path)] = apply({"level": "warn", "mode": "a"}).conflicts()
    assert (owner.manager, path) == ("kubectl-edit", ("f:data", "f:level"))
    error = conflict_error(CONFIG_MAP, "settings", [(owner, path)])
    assert (error.code, error.message) == (
        409,
        'Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .data.level',
    )

    forced = apply({"level": "warn"})
    obj = forced.merged({("f:data", "f:level")})
    assert obj["data"] == {"level": "warn"}  # "mode" is no longer applied and nobody else holds it
    writer = entry("portal", "Apply", *forced.owned)
    assert forced.managed_fields(writer, {("f:data", "f:level")}, obj) == [writer]


def test_keyed_lists_merge_by_key_other_lists_are_replaced() -> None:
    shape = Shape(SERVICE, "v1")
    live = {"spec": {"ports": [{"port": 80, "name": "http"}], "externalIPs": ["10.0.0.1"]}}
    applied = {"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 15020}], "externalIPs": ["10.0.0.2"]}}
    assert merge_applied(live, applied, shape) == {
        "spec": {
            "ports": [{"port": 80, "name": "http", "targetPort": 8080}, {"port": 15020}],
            "externalIPs": ["10.0.0.2"],
        }
    }
