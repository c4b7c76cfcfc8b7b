"""An edit that only removes something is applied: for every section of the service document, a field is set and
applied, then cleared and applied again; the plan says what goes, and the object no longer has it afterwards.

Both Kubernetes targets: the gitops tree (each file rewritten whole) and a cluster by server-side apply (the server
drops the fields the portal's field manager owned and no longer sends).
"""

import re
from dataclasses import dataclass
from typing import Any

import pytest

from provisioning.choices import RunStatus
from provisioning.operations import apply_service, drift_check_service, plan_service
from provisioning.resources import KUBERNETES, Resource
from provisioning.targets import kubernetes_backend
from tests.aws.conftest import bootstrapped, sandbox
from tests.k8sdouble.fixtures import real_cluster_kubeconfig

from .conftest import register, run_task, update

__all__ = ["bootstrapped", "sandbox"]  # fixtures: an exposed service needs the platform's zones and ALBs

ABSENT = object()
HOST = "ledger.internal.example.com"
STEP = re.compile(r"([^.\[]+)|\[(\d+)\]|\[(\w+)=([^\]]+)\]")


@dataclass(frozen=True)
class Case:
    """``document`` sets the field at registration, ``clear`` is the edit removing it; ``path`` names what must
    go from the object (``[name=x]`` picks a list item by a field)."""

    id: str
    document: dict[str, Any]
    clear: dict[str, Any]
    kind: str
    api_version: str
    path: str
    name: str = "ledger"
    # Services the document refers to, registered first.
    others: tuple[str, ...] = ()


CASES = [
    # exposure
    Case(
        "exposure.paths",
        {"exposure": {"level": "internal", "hostnames": [HOST], "paths": ["/api"]}},
        {"exposure": {"paths": ["/"]}},
        "VirtualService",
        "networking.istio.io/v1",
        "spec.http[name=default].match",
    ),
    Case(
        "exposure.paths (one of two)",
        {"exposure": {"level": "internal", "hostnames": [HOST], "paths": ["/api", "/admin"]}},
        {"exposure": {"paths": ["/api"]}},
        "VirtualService",
        "networking.istio.io/v1",
        "spec.http[name=default].match[1].uri",
    ),
    Case(
        "exposure.routes",
        {"exposure": {"routes": [{"header": "x-beta", "exact": "1", "service": "ledger-beta"}]}},
        {"exposure": {"routes": []}},
        "VirtualService",
        "networking.istio.io/v1",
        "spec.http[name=route-0-ledger-beta]",
        others=("ledger-beta",),
    ),
    # traffic
    Case(
        "traffic.retries",
        {"traffic": {"retries": {"attempts": 3, "per_try_timeout_seconds": 1.5}}},
        {"traffic": {"retries": None}},
        "VirtualService",
        "networking.istio.io/v1",
        "spec.http[name=default].retries",
    ),
    Case(
        "traffic.retries.per_try_timeout_seconds",
        {"traffic": {"retries": {"attempts": 3, "per_try_timeout_seconds": 1.5}}},
        {"traffic": {"retries": {"attempts": 3, "per_try_timeout_seconds": None}}},
        "VirtualService",
        "networking.istio.io/v1",
        "spec.http[name=default].retries.perTryTimeout",
    ),
    Case(
        "traffic.timeout_seconds",
        {"traffic": {"timeout_seconds": 5}},
        {"traffic": {"timeout_seconds": None}},
        "VirtualService",
        "networking.istio.io/v1",
        "spec.http[name=default].timeout",
    ),
    Case(
        "traffic.canary",
        {"traffic": {"canary": {"version": "v2", "weight": 10}}},
        {"traffic": {"canary": None}},
        "DestinationRule",
        "networking.istio.io/v1",
        "spec.subsets",
    ),
    Case(
        "traffic.outlier_detection",
        {"traffic": {"outlier_detection": {"consecutive_5xx": 5}}},
        {"traffic": {"outlier_detection": None}},
        "DestinationRule",
        "networking.istio.io/v1",
        "spec.trafficPolicy.outlierDetection",
    ),
    Case(
        "traffic.connection_pool",
        {"traffic": {"connection_pool": {"max_connections": 10}}},
        {"traffic": {"connection_pool": None}},
        "DestinationRule",
        "networking.istio.io/v1",
        "spec.trafficPolicy.connectionPool",
    ),
    Case(
        "traffic.hash_on",
        {"traffic": {"load_balancer": "consistent_hash", "hash_on": "header:x-user"}},
        {"traffic": {"load_balancer": "round_robin", "hash_on": None}},
        "DestinationRule",
        "networking.istio.io/v1",
        "spec.trafficPolicy.loadBalancer.consistentHash",
    ),
    # callers
    Case(
        "traffic.allowed_callers (one of two)",
        {"traffic": {"allowed_callers": ["billing", "orders"]}},
        {"traffic": {"allowed_callers": ["billing"]}},
        "AuthorizationPolicy",
        "security.istio.io/v1",
        "spec.rules[0].from[0].source.principals[1]",
        others=("billing", "orders"),
    ),
    # telemetry
    Case(
        "telemetry.metrics_port",
        {"telemetry": {"metrics_port": 9090}},
        {"telemetry": {"metrics_port": None}},
        "Service",
        "v1",
        "spec.ports[name=http-metrics]",
    ),
    Case(
        "telemetry.dashboard",
        {"telemetry": {"dashboard": True}},
        {"telemetry": {"dashboard": False}},
        "ConfigMap",
        "v1",
        "",
        name="ledger-dashboard",
    ),
    # alerts and the SLO
    Case(
        "telemetry.slo",
        {"telemetry": {"slo": {"availability": 99.9}}},
        {"telemetry": {"slo": None}},
        "PrometheusRule",
        "monitoring.coreos.com/v1",
        "spec.groups[name=ledger.slo.alerts]",
    ),
    Case(
        "telemetry.slo.latency_p99_ms",
        {"telemetry": {"slo": {"availability": 99.9, "latency_p99_ms": 300}}},
        {"telemetry": {"slo": {"availability": 99.9, "latency_p99_ms": None}}},
        "PrometheusRule",
        "monitoring.coreos.com/v1",
        "spec.groups[name=ledger.slo.alerts].rules[alert=LatencyP99High]",
    ),
]


def resolve(body: Any, path: str) -> tuple[Any, str]:
    """The value at ``path`` (ABSENT when it is not there) and its concrete path (list items by index)."""
    value, concrete = body, ""
    for name, index, field, wanted in STEP.findall(path):
        if name:
            if not isinstance(value, dict) or name not in value:
                return ABSENT, concrete
            value, concrete = value[name], f"{concrete}.{name}" if concrete else name
        elif index:
            if not isinstance(value, list) or int(index) >= len(value):
                return ABSENT, concrete
            value, concrete = value[int(index)], f"{concrete}[{index}]"
        else:
            found = [i for i, item in enumerate(value or []) if isinstance(item, dict) and item.get(field) == wanted]
            if not found:
                return ABSENT, concrete
            value, concrete = value[found[0]], f"{concrete}[{found[0]}]"
    return value, concrete


def covers(diff_path: str, concrete: str) -> bool:
    """A change at ``diff_path`` touches ``concrete`` (the same path, or one above it)."""
    return concrete == diff_path or concrete.startswith((f"{diff_path}.", f"{diff_path}["))


@pytest.fixture(params=["gitops", "kubernetes"])
def target(request, settings, platform, tmp_path):
    """Each Kubernetes target in turn: a git working tree of the test's own, or the API double."""
    if request.param == "gitops":
        settings.PORTAL_GITOPS_DIR = tmp_path / "gitops"
        settings.PORTAL_GITOPS_REMOTE = ""
    else:
        if real_cluster_kubeconfig() is None:
            request.getfixturevalue("k8s_double")
        settings.PORTAL_KUBECONFIG = request.getfixturevalue("k8s_kubeconfig")
    platform.kubernetes_target = request.param
    platform.save()
    return request.param


def live(target: str, case: Case) -> dict[str, Any] | None:
    """The object as it is in the target now (None when it does not exist)."""
    resource = Resource(KUBERNETES, case.kind, case.name, namespace="ledger", api_version=case.api_version)
    return kubernetes_backend(target).reader.get(resource)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_clearing_a_field_takes_it_away(case, team, target, request):
    if "hostnames" in case.document.get("exposure", {}):
        request.getfixturevalue("bootstrapped")
    for other in case.others:
        register(name=other)
    service = register(name="ledger", **case.document)
    assert run_task(apply_service(service)).status == RunStatus.SUCCEEDED
    before = live(target, case)
    assert before is not None
    value, concrete = resolve(before, case.path)
    assert value is not ABSENT, f"{case.path} was not applied"

    service = update(service, **case.clear)
    plan = plan_service(service)
    (change,) = [c for c in plan.changes if (c["kind"], c["name"]) == (case.kind, case.name)]
    if case.path:
        assert change["action"] == "update", change
        said = [d for d in change["diff"] if covers(d["path"], concrete)]
        assert said, f"the plan does not say that {concrete} goes: {change['diff']}"
    else:
        assert change["action"] == "delete"

    run = run_task(apply_service(service, plan=plan))
    assert run.status == RunStatus.SUCCEEDED, run.error
    after = live(target, case)
    if case.path:
        assert after is not None
        assert resolve(after, case.path)[0] is ABSENT, f"{case.path} is still there after the apply"
    else:
        assert after is None
    # Converged: the next plan changes nothing, and a drift check finds nothing.
    again = plan_service(service)
    assert again.summary["update"] == again.summary["create"] == again.summary["delete"] == 0, again.changes
    drift = run_task(drift_check_service(service))
    assert drift.status == RunStatus.SUCCEEDED and not drift.drift_found
