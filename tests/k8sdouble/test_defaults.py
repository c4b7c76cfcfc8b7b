"""What the server fills into objects of built-in kinds."""

from __future__ import annotations

import base64

from tests.k8sdouble.defaults import apply_builtin_defaults


def test_a_service_gets_its_type_policies_and_target_ports() -> None:
    obj = {"metadata": {"name": "web"}, "spec": {"type": "NodePort", "ports": [{"port": 80}]}}
    apply_builtin_defaults("", "Service", obj)
    spec = obj["spec"]
    assert spec["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    assert (spec["sessionAffinity"], spec["ipFamilyPolicy"], spec["externalTrafficPolicy"]) == (
        "None",
        "SingleStack",
        "Cluster",
    )
    assert obj["status"] == {"loadBalancer": {}}


def test_a_deployment_pulls_latest_images_always_and_tagged_ones_if_not_present() -> None:
    containers = [{"name": "app", "image": "registry:5000/app"}, {"name": "proxy", "image": "envoy:v1.30"}]
    obj = {"metadata": {"name": "web"}, "spec": {"template": {"spec": {"containers": containers}}}}
    apply_builtin_defaults("apps", "Deployment", obj)
    assert [c["imagePullPolicy"] for c in obj["spec"]["template"]["spec"]["containers"]] == ["Always", "IfNotPresent"]
    assert obj["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }


def test_a_secret_stores_string_data_as_data() -> None:
    obj = {"metadata": {"name": "hook"}, "stringData": {"url": "https://hooks.example.com"}}
    apply_builtin_defaults("", "Secret", obj)
    assert obj == {
        "metadata": {"name": "hook"},
        "type": "Opaque",
        "data": {"url": base64.b64encode(b"https://hooks.example.com").decode()},
    }


def test_kinds_without_defaults_are_left_alone() -> None:
    obj = {"metadata": {"name": "settings"}, "data": {}}
    apply_builtin_defaults("", "ConfigMap", obj)
    assert obj == {"metadata": {"name": "settings"}, "data": {}}
