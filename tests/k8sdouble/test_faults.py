"""Injected faults: the n-th write, by kind and name, after the write took effect, until cleared."""

from __future__ import annotations

import pytest
from kubernetes.dynamic.exceptions import InternalServerError, ServiceUnavailableError

from tests.k8sdouble.faults import Fault, Faults
from tests.k8sdouble.helpers import config_map, error_body, service
from tests.k8sdouble.requestlog import RequestRecord
from tests.k8sdouble.server import KubernetesDouble


def record(method: str, kind: str = "ConfigMap", name: str = "settings") -> RequestRecord:
    return RequestRecord(method, "/api/v1/namespaces/default/configmaps", {}, "application/json", kind=kind, name=name)


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


def test_a_one_off_fault_counts_matching_requests_and_is_used_up() -> None:
    faults = Faults()
    faults.add(Fault(500, "boom", "InternalError", skip=1, kind="ConfigMap"))
    assert faults.take(record("GET")) is None  # reads are not writes
    assert faults.take(record("PATCH", kind="Service")) is None  # another kind
    assert faults.take(record("PATCH")) is None  # skipped
    fired = faults.take(record("PATCH"))
    assert fired is not None and fired.error().code == 500
    assert faults.take(record("PATCH")) is None


def test_a_persistent_throttle_says_when_to_retry() -> None:
    faults = Faults()
    faults.add(Fault(429, "slow down", "TooManyRequests", writes_only=False, persistent=True, path_contains="/api/v1/"))
    for _ in range(2):
        fired = faults.take(record("GET"))
        assert fired is not None
    error = fired.error()
    assert (error.headers, error.details["retryAfterSeconds"]) == ({"Retry-After": "1"}, 1)
    faults.write_delay = 1.0
    faults.clear()
    assert (faults.take(record("GET")), faults.write_delay) == (None, 0.0)
