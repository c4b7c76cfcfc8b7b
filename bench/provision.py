"""B1: register -> plan -> apply of N external services, one after another, against the AWS sandbox and the gitops
target; wall time split into the portal's own overhead and the time inside AWS and Kubernetes-target calls.

The run is carried out in this process exactly as the Celery task does it (claim, then
``provisioning.runs.perform.perform``), so the engine's backends can be handed timed readers and writers; the API
calls are counted against the minimum: one write per resource that must change, one list per (kind, namespace)
and per AWS resource type read.
"""

import time

from portal.catalog.api.serializers import ServiceSerializer
from portal.catalog.services import create_service
from provisioning.choices import RunStatus
from provisioning.desired import SERVICE_KINDS
from provisioning.desired.aws import SERVICE_AWS_KINDS
from provisioning.engine import Engine
from provisioning.models import ProvisioningRun
from provisioning.operations import apply_service, approve_run, plan_service
from provisioning.resources import AWS, KUBERNETES
from provisioning.runs.lifecycle import claim
from provisioning.runs.perform import perform
from provisioning.snapshot import platform_snapshot
from provisioning.targets import AwsBackend, kubernetes_backend

from .instrument import AwsTimer, Clock, Timed, percentile


def engine(k8s_clock: Clock) -> Engine:
    platform = platform_snapshot()
    backend = kubernetes_backend(platform.kubernetes_target)
    backend.reader = Timed(backend.reader, k8s_clock)
    backend.writer = Timed(backend.writer, k8s_clock)
    return Engine(platform, {KUBERNETES: backend, AWS: AwsBackend(platform)})


def minimal_calls(plan_changes: list[dict]) -> dict[str, int]:
    """One write per resource that must change; one list per (kind, namespace) and one per AWS resource type."""
    namespaces = {c["namespace"] for c in plan_changes if c["provider"] == KUBERNETES and c["namespace"]} or {""}
    cluster_scoped = {"Namespace"}
    k8s_lists = sum(1 if kind in cluster_scoped else len(namespaces) for _, kind in SERVICE_KINDS)
    writes = sum(1 for c in plan_changes if c["action"] != "unchanged")
    return {"reads": k8s_lists + len(SERVICE_AWS_KINDS), "writes": writes}


def run(aws_timer: AwsTimer, team: str, owner, sre, count: int, external_zone: str) -> dict:
    samples = []
    for index in range(count):
        name = f"ext-{index:03d}"
        k8s_clock = Clock()
        eng = engine(k8s_clock)
        k8s = eng.backends[KUBERNETES]
        before_aws, reads0, writes0 = aws_timer.clock.snapshot(), k8s.reads, k8s.writes
        started = time.perf_counter()

        serializer = ServiceSerializer(
            data={
                "name": name,
                "team": team,
                "exposure": {"level": "external", "hostnames": [f"{name}.{external_zone}"]},
                "traffic": {"load_balancer": "least_request", "retries": {"attempts": 3}},
                "telemetry": {"slo": {"availability": 99.9, "latency_p99_ms": 300}, "dashboard": True},
            }
        )
        serializer.is_valid(raise_exception=True)
        service = create_service(serializer.validated_data, actor=owner)
        plan = plan_service(service, owner, engine=eng)
        pending = apply_service(service, owner, plan=plan)
        approved = approve_run(pending, sre)
        claimed = claim(approved.pk, f"bench-{approved.pk}")
        perform(claimed, eng)

        wall = time.perf_counter() - started
        run_row = ProvisioningRun.objects.select_related("plan").get(pk=approved.pk)
        if run_row.status != RunStatus.SUCCEEDED:
            raise RuntimeError(f"B1: the apply of {name} ended {run_row.status}: {run_row.error}")
        aws = aws_timer.clock.since(before_aws)
        k8s_reads, k8s_writes = k8s.reads - reads0, k8s.writes - writes0
        minimal = minimal_calls(run_row.plan.changes)
        calls = aws.reads + aws.writes + k8s_reads + k8s_writes
        samples.append(
            {
                "service": name,
                "wall_s": wall,
                "aws_s": aws.seconds,
                "k8s_s": k8s_clock.seconds,
                "overhead_s": wall - aws.seconds - k8s_clock.seconds,
                "aws_reads": aws.reads,
                "aws_writes": aws.writes,
                "k8s_reads": k8s_reads,
                "k8s_writes": k8s_writes,
                "calls": calls,
                "minimal_calls": minimal["reads"] + minimal["writes"],
                "aws_operations": aws.operations,
                "resources_changed": minimal["writes"],
            }
        )

    def stat(key: str) -> dict[str, float]:
        values = [s[key] for s in samples]
        return {"p50": round(percentile(values, 50), 4), "p95": round(percentile(values, 95), 4)}

    calls = sum(s["calls"] for s in samples)
    minimal = sum(s["minimal_calls"] for s in samples)
    operations: dict[str, int] = {}
    for sample in samples:
        for op, n in sample["aws_operations"].items():
            operations[op] = operations.get(op, 0) + n
    per_service = max(len(samples), 1)
    return {
        "services": len(samples),
        "wall_s": stat("wall_s"),
        "overhead_s": stat("overhead_s"),
        "aws_s": stat("aws_s"),
        "k8s_s": stat("k8s_s"),
        "overhead_p50_s": stat("overhead_s")["p50"],
        "calls_per_service": round(calls / per_service, 1),
        "minimal_calls_per_service": round(minimal / per_service, 1),
        "calls_vs_minimal": round(calls / minimal, 2) if minimal else 0.0,
        "calls_breakdown_per_service": {
            k: round(sum(s[k] for s in samples) / per_service, 1)
            for k in ("aws_reads", "aws_writes", "k8s_reads", "k8s_writes", "resources_changed")
        },
        "aws_operations_per_service": {k: round(v / per_service, 1) for k, v in sorted(operations.items())},
        "note": "one service at a time: register (serializer), plan, apply request, SRE approval, the run "
        "(claim + perform, as the worker does) with the gitops target; AWS time is botocore's calls to moto's "
        "server, Kubernetes time is the gitops reader/writer (files and git); overhead is the rest",
    }
