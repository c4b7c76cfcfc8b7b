"""The Kubernetes API double, driven by the official client's DynamicClient over HTTP.

Tests that take only ``dynamic_client`` and ``k8s_namespace`` also hold against a real cluster
(``PORTAL_TEST_KUBECONFIG``); tests that take ``k8s_double`` use its hooks and are skipped there.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import (
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    ServiceUnavailableError,
    UnprocessibleEntityError,
)

from tests.k8sdouble.client import DoubleClient
from tests.k8sdouble.server import KubernetesDouble

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def config_map(name: str, namespace: str, data: dict[str, str], labels: dict[str, str] | None = None) -> dict:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels is not None:
        metadata["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


def service(name: str, namespace: str, ports: list[dict[str, Any]]) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": {"app": name}, "ports": ports},
    }


def managers(obj: Any) -> dict[str, dict]:
    """managedFields by "manager/operation"."""
    entries = obj.to_dict()["metadata"].get("managedFields") or []
    return {f"{entry['manager']}/{entry['operation']}": entry["fieldsV1"] for entry in entries}


def error_body(exc: Exception) -> dict:
    return json.loads(exc.body)


@pytest.fixture
def config_maps(dynamic_client: DynamicClient):
    return dynamic_client.resources.get(api_version="v1", kind="ConfigMap")


@pytest.fixture
def services(dynamic_client: DynamicClient):
    return dynamic_client.resources.get(api_version="v1", kind="Service")


# --- discovery -------------------------------------------------------------------------------------------------


def test_discovery_finds_core_and_crd_kinds(k8s_double: KubernetesDouble, dynamic_client: DynamicClient) -> None:
    expected = {
        ("v1", "Namespace"): False,
        ("v1", "Service"): True,
        ("v1", "Secret"): True,
        ("apps/v1", "Deployment"): True,
        ("networking.k8s.io/v1", "Ingress"): True,
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): False,
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): False,
        ("networking.istio.io/v1", "DestinationRule"): True,
        ("monitoring.coreos.com/v1", "PrometheusRule"): True,
        ("monitoring.coreos.com/v1alpha1", "AlertmanagerConfig"): True,
        ("elbv2.k8s.aws/v1beta1", "IngressClassParams"): False,
    }
    for (api_version, kind), namespaced in expected.items():
        assert dynamic_client.resources.get(api_version=api_version, kind=kind).namespaced is namespaced, kind

    versions = {r.api_version: r.preferred for r in dynamic_client.resources.search(kind="DestinationRule")}
    assert versions == {"v1": True, "v1beta1": False, "v1alpha3": False}
    assert "status" in dynamic_client.resources.get(api_version="v1", kind="Service").subresources


def test_served_crds_are_objects_with_their_schemas(k8s_double: KubernetesDouble, dynamic_client: DynamicClient):
    crds = dynamic_client.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    listed = {item["metadata"]["name"]: item for item in crds.get().to_dict()["items"]}
    assert "prometheusrules.monitoring.coreos.com" in listed
    rule = crds.get(name="prometheusrules.monitoring.coreos.com").to_dict()
    assert rule["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert {c["type"]: c["status"] for c in rule["status"]["conditions"]}["Established"] == "True"


def test_crd_directory_is_a_constructor_argument(tmp_path: Path) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Cluster",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {}}}],
        },
    }
    (tmp_path / "widgets.json").write_text(json.dumps([crd]))
    double = KubernetesDouble(tmp_path)
    assert [obj["metadata"]["name"] for obj in double.objects("CustomResourceDefinition", include_seed=True)] == [
        "widgets.example.com"
    ]


# --- server-side apply -----------------------------------------------------------------------------------------


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


# --- CRUD ------------------------------------------------------------------------------------------------------


def test_label_and_field_selectors(dynamic_client: DynamicClient, config_maps, k8s_namespace: str) -> None:
    for name, labels in {
        "web": {"team": "payments", "tier": "web"},
        "api": {"team": "payments", "tier": "api"},
        "job": {"team": "search", "tier": "batch"},
        "bare": {},
    }.items():
        config_maps.create(body=config_map(name, k8s_namespace, {}, labels=labels))

    def names(**selectors: str) -> list[str]:
        listing = config_maps.get(namespace=k8s_namespace, **selectors).to_dict()
        assert (listing["kind"], listing["apiVersion"]) == ("ConfigMapList", "v1")
        assert listing["metadata"]["resourceVersion"]
        assert all(item["kind"] == "ConfigMap" for item in listing["items"])
        return sorted(
            item["metadata"]["name"] for item in listing["items"] if item["metadata"]["name"] != "kube-root-ca.crt"
        )

    assert names(label_selector="team=payments") == ["api", "web"]
    assert names(label_selector="team!=payments") == ["bare", "job"]
    assert names(label_selector="tier in (web, batch)") == ["job", "web"]
    assert names(label_selector="tier notin (web)") == ["api", "bare", "job"]
    assert names(label_selector="team") == ["api", "job", "web"]
    assert names(label_selector="!team") == ["bare"]
    assert names(label_selector="team=payments,tier!=web") == ["api"]
    assert names(field_selector="metadata.name=job") == ["job"]

    everywhere = config_maps.get(label_selector="team=search").to_dict()["items"]
    assert [(item["metadata"]["namespace"], item["metadata"]["name"]) for item in everywhere] == [
        (k8s_namespace, "job")
    ]
    with pytest.raises(BadRequestError):
        config_maps.get(namespace=k8s_namespace, field_selector="data.x=1")


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


def test_patch_types(config_maps, k8s_namespace: str) -> None:
    config_maps.create(body=config_map("settings", k8s_namespace, {"a": "1", "b": "2"}))
    target = {"name": "settings", "namespace": k8s_namespace}

    merged = config_maps.patch(
        body={"data": {"a": None, "c": "3"}}, content_type="application/merge-patch+json", **target
    )
    assert merged.to_dict()["data"] == {"b": "2", "c": "3"}
    strategic = config_maps.patch(body={"data": {"d": "4"}}, **target)
    assert strategic.to_dict()["data"] == {"b": "2", "c": "3", "d": "4"}
    json_patched = config_maps.patch(
        body=[{"op": "replace", "path": "/data/b", "value": "two"}, {"op": "remove", "path": "/data/c"}],
        content_type="application/json-patch+json",
        **target,
    )
    assert json_patched.to_dict()["data"] == {"b": "two", "d": "4"}
    with pytest.raises(UnprocessibleEntityError):
        config_maps.patch(
            body=[{"op": "test", "path": "/data/b", "value": "2"}], content_type="application/json-patch+json", **target
        )


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


# --- custom resources ------------------------------------------------------------------------------------------


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


# --- hooks -----------------------------------------------------------------------------------------------------


def test_fault_injection_fails_the_third_write(k8s_double: KubernetesDouble, config_maps) -> None:
    k8s_double.fail_nth_write(3, message="etcdserver: leader changed")

    for name in ("one", "two"):
        config_maps.server_side_apply(body=config_map(name, "default", {}), field_manager="portal")
    with pytest.raises(InternalServerError) as failure:
        config_maps.server_side_apply(body=config_map("three", "default", {}), field_manager="portal")
    assert failure.value.status == 500
    assert error_body(failure.value)["message"] == "etcdserver: leader changed"
    config_maps.server_side_apply(body=config_map("four", "default", {}), field_manager="portal")

    assert [obj["metadata"]["name"] for obj in k8s_double.objects("ConfigMap")] == ["four", "one", "two"]


def test_faults_by_kind_after_commit_and_until_cleared(k8s_double: KubernetesDouble, config_maps, services) -> None:
    k8s_double.fail_nth_write(1, kind="Service", status=503, after_commit=True)
    config_maps.server_side_apply(body=config_map("settings", "default", {}), field_manager="portal")
    with pytest.raises(ServiceUnavailableError):
        services.server_side_apply(body=service("web", "default", [{"port": 80}]), field_manager="portal")
    assert k8s_double.get_object("Service", "web", "default") is not None  # the write took effect

    k8s_double.fail_requests(method="GET", name="settings", status=500)
    for _ in range(2):
        with pytest.raises(InternalServerError):
            config_maps.get(name="settings", namespace="default")
    k8s_double.clear_faults()
    assert config_maps.get(name="settings", namespace="default").metadata.name == "settings"


def test_request_counters(k8s_double: KubernetesDouble, config_maps) -> None:
    k8s_double.clear_requests()
    body = config_map("settings", "default", {"a": "1"})
    config_maps.server_side_apply(body=body, field_manager="portal")
    config_maps.server_side_apply(body=body, field_manager="portal")
    config_maps.get(namespace="default")
    config_maps.delete(name="settings", namespace="default")

    assert (k8s_double.write_count, k8s_double.changed_count, k8s_double.read_count) == (3, 2, 1)
    assert [(r.method, r.status, r.changed) for r in k8s_double.requests] == [
        ("PATCH", 201, True),
        ("PATCH", 200, False),
        ("GET", 200, False),
        ("DELETE", 200, True),
    ]
    assert {r.field_manager for r in k8s_double.requests if r.method == "PATCH"} == {"portal"}


def test_dry_run_changes_nothing(k8s_double: KubernetesDouble, config_maps) -> None:
    result = config_maps.server_side_apply(
        body=config_map("settings", "default", {"a": "1"}), field_manager="portal", dry_run="All"
    )
    assert result.data.a == "1"
    assert k8s_double.objects("ConfigMap") == []
    assert k8s_double.changed_count == 0


def test_kubeconfig_points_at_the_cluster(k8s_kubeconfig: str, tmp_path: Path) -> None:
    api_client = k8s_config.new_client_from_config(config_file=k8s_kubeconfig)
    try:
        dynamic = DynamicClient(api_client, cache_file=str(tmp_path / "discovery.json"))
        namespace = dynamic.resources.get(api_version="v1", kind="Namespace").get(name="default")
        assert namespace.status.phase == "Active"
    finally:
        api_client.close()


def test_a_double_in_another_process_is_driven_over_http(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.k8sdouble.server", "--port", "0"],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[-1]
        hooks = DoubleClient(url)
        hooks.fail_nth_write(2, message="injected")

        configuration = k8s_client.Configuration()
        configuration.host, configuration.proxy = url, None
        with k8s_client.ApiClient(configuration) as api_client:
            dynamic = DynamicClient(api_client, cache_file=str(tmp_path / "discovery.json"))
            config_maps = dynamic.resources.get(api_version="v1", kind="ConfigMap")
            config_maps.server_side_apply(body=config_map("a", "default", {}), field_manager="worker")
            with pytest.raises(InternalServerError):
                config_maps.server_side_apply(body=config_map("b", "default", {}), field_manager="worker")

        assert [obj["metadata"]["name"] for obj in hooks.objects("ConfigMap")] == ["a"]
        assert (hooks.write_count, hooks.changed_count) == (2, 1)
        assert hooks.requests[-1].status == 500
        hooks.reset()
        assert hooks.objects() == []
    finally:
        process.terminate()
        process.wait(timeout=10)
