"""Discovery and the kinds served: built-in kinds, the kinds of the CRD directory, version order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kubernetes.dynamic import DynamicClient

from tests.k8sdouble.crds import crd_resource_type
from tests.k8sdouble.discovery import discovery_document, is_discovery_path
from tests.k8sdouble.errors import ApiError
from tests.k8sdouble.kinds import BUILTIN_TYPES, version_priority
from tests.k8sdouble.server import KubernetesDouble


def widget_crd(**spec: object) -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Cluster",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {}}}],
            **spec,
        },
    }


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
    (tmp_path / "widgets.json").write_text(json.dumps([widget_crd()]))
    double = KubernetesDouble(tmp_path)
    assert [obj["metadata"]["name"] for obj in double.objects("CustomResourceDefinition", include_seed=True)] == [
        "widgets.example.com"
    ]


def test_versions_sort_ga_then_beta_then_alpha() -> None:
    versions = ["v1alpha1", "v1beta1", "v1", "v2beta1", "v2", "v1beta2", "latest"]
    assert sorted(versions, key=version_priority, reverse=True) == [
        "v2",
        "v1",
        "v2beta1",
        "v1beta2",
        "v1beta1",
        "v1alpha1",
        "latest",
    ]


def test_a_crd_defines_a_kind_from_its_served_versions() -> None:
    crd = widget_crd(
        scope="Namespaced",
        versions=[
            {"name": "v1alpha1", "served": True, "schema": {"openAPIV3Schema": {"type": "object"}}},
            {"name": "v1", "served": True, "subresources": {"status": {}}},
            {"name": "v0", "served": False},
        ],
    )
    rtype = crd_resource_type(crd)
    assert rtype is not None
    assert (rtype.group, rtype.plural, rtype.kind, rtype.list_kind) == (
        "example.com",
        "widgets",
        "Widget",
        "WidgetList",
    )
    assert rtype.versions == ("v1", "v1alpha1")
    assert rtype.namespaced and rtype.has_status
    assert rtype.schemas == {"v1alpha1": {"type": "object"}, "v1": {}}
    assert rtype.qualified == "widgets.example.com"
    assert crd_resource_type(widget_crd(versions=[{"name": "v1", "served": False}])) is None


def test_discovery_documents_without_a_server() -> None:
    assert is_discovery_path([]) and is_discovery_path(["apis", "apps", "v1"]) and is_discovery_path(["livez"])
    assert not is_discovery_path(["api", "v1", "namespaces"])

    core = discovery_document(["api", "v1"], BUILTIN_TYPES, "127.0.0.1")
    by_name = {resource["name"]: resource for resource in core["resources"]}
    assert by_name["services"]["shortNames"] == ["svc"]
    assert by_name["services/status"]["verbs"] == ["get", "patch", "update"]
    assert "configmaps/status" not in by_name
    group = discovery_document(["apis", "apps"], BUILTIN_TYPES, "127.0.0.1")
    assert group["preferredVersion"] == {"groupVersion": "apps/v1", "version": "v1"}
    with pytest.raises(ApiError) as unknown:
        discovery_document(["apis", "example.com"], BUILTIN_TYPES, "127.0.0.1")
    assert unknown.value.code == 404
