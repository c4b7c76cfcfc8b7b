"""The double as a server: its request log, a kubeconfig pointing at it, and a double in another process driven
over HTTP through its hooks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import InternalServerError

from tests.k8sdouble.client import DoubleClient
from tests.k8sdouble.helpers import config_map
from tests.k8sdouble.server import KubernetesDouble

PROJECT_ROOT = Path(__file__).resolve().parents[2]


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
