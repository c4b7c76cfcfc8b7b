"""B1 and B1-cold: register -> plan -> apply (approved by an SRE) of N external services, one after another, against
the AWS sandbox and the gitops target; wall time split into the portal's own overhead and the time inside AWS and
Kubernetes-target calls, and every call counted per provider and operation against ``bench.minimum``.

B1's SRE approves at once, inside ``PORTAL_PLAN_REUSE_SECONDS``, so the run applies the plan it was shown. B1-cold
approves after the window (the window is set to zero rather than waited out), so the run plans again first, as it
does when an approval comes minutes or hours later. Each scenario checks that its runs took the path it measures.

The run is carried out in this process exactly as the Celery task does it (claim, then perform), so the engine's
backends can be handed timed readers and writers.
"""

import time

import boto3
from django.test.utils import override_settings

from . import minimum
from .instrument import AwsTimer, Clock, Timed, percentile
from .internals import (
    AWS,
    KUBERNETES,
    AwsBackend,
    Engine,
    ProvisioningRun,
    RunStatus,
    ServiceSerializer,
    apply_service,
    approve_run,
    claim,
    create_service,
    kubernetes_backend,
    perform,
    plan_service,
    platform_snapshot,
)

REUSED = "provisioning.plan.reused"  # the run's log event when it applied the plan it was shown
PHASES = ("plan", "run")


def engine(k8s_clock: Clock) -> Engine:
    platform = platform_snapshot()
    backend = kubernetes_backend(platform.kubernetes_target)
    backend.reader = Timed(backend.reader, k8s_clock)
    backend.writer = Timed(backend.writer, k8s_clock)
    return Engine(platform, {KUBERNETES: backend, AWS: AwsBackend(platform)})


class PhaseCalls:
    """The calls of one phase: AWS operations from botocore's events, the gitops target's file reads and writes
    and its commits."""

    def __init__(self, aws_timer: AwsTimer, k8s, k8s_clock: Clock):
        self.aws_timer, self.k8s, self.k8s_clock = aws_timer, k8s, k8s_clock
        self.aws = aws_timer.clock.snapshot()
        self.reads, self.writes = k8s.reads, k8s.writes
        self.commits = k8s_clock.operations.get(minimum.COMMIT, 0)

    def calls(self) -> dict[str, dict[str, int]]:
        aws = self.aws_timer.clock.since(self.aws).operations
        kubernetes = {
            minimum.READ_FILE: self.k8s.reads - self.reads,
            minimum.WRITE_FILE: self.k8s.writes - self.writes,
            minimum.COMMIT: self.k8s_clock.operations.get(minimum.COMMIT, 0) - self.commits,
        }
        return {AWS: aws, KUBERNETES: {op: n for op, n in kubernetes.items() if n}}


def provision_one(aws_timer: AwsTimer, name: str, team: str, owner, sre, external_zone: str) -> dict:
    k8s_clock = Clock()
    eng = engine(k8s_clock)
    k8s = eng.backends[KUBERNETES]
    before_aws = aws_timer.clock.snapshot()
    started = time.perf_counter()

    phase = PhaseCalls(aws_timer, k8s, k8s_clock)
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
    planned = phase.calls()

    phase = PhaseCalls(aws_timer, k8s, k8s_clock)
    claimed = claim(approved.pk, f"bench-{approved.pk}")
    perform(claimed, eng)
    ran = phase.calls()

    wall = time.perf_counter() - started
    run_row = ProvisioningRun.objects.select_related("plan").get(pk=approved.pk)
    if run_row.status != RunStatus.SUCCEEDED:
        raise RuntimeError(f"B1: the apply of {name} ended {run_row.status}: {run_row.error}")
    aws = aws_timer.clock.since(before_aws)
    return {
        "service": name,
        "wall_s": wall,
        "aws_s": aws.seconds,
        "k8s_s": k8s_clock.seconds,
        "overhead_s": wall - aws.seconds - k8s_clock.seconds,
        "reused_plan": run_row.log_entries.filter(event=REUSED).exists(),
        "changes": run_row.plan.changes,
        "calls": {"plan": planned, "run": ran},
    }


def breakdown(samples: list[dict], plans: int) -> dict:
    """Calls and minimum per provider and operation, per service (means), each operation with its reasons and the
    calls by phase; totals per provider and overall."""
    count = max(len(samples), 1)
    operations: dict[str, dict[str, dict]] = {}
    for sample in samples:
        for provider, ops in minimum.tally(minimum.minimum(sample["changes"], plans)).items():
            for op, need in ops.items():
                entry = operations.setdefault(provider, {}).setdefault(op, _empty())
                entry["minimum"] += need["minimum"]
                entry["why"] += [w for w in need["why"] if w not in entry["why"]]
        for phase in PHASES:
            for provider, ops in sample["calls"][phase].items():
                for op, n in ops.items():
                    entry = operations.setdefault(provider, {}).setdefault(op, _empty())
                    entry["calls"] += n
                    entry["by_phase"][phase] += n
    providers = {}
    for provider, ops in sorted(operations.items()):
        for entry in ops.values():
            entry["calls"] = round(entry["calls"] / count, 2)
            entry["minimum"] = round(entry["minimum"] / count, 2)
            entry["excess"] = round(entry["calls"] - entry["minimum"], 2)
            entry["by_phase"] = {k: round(v / count, 2) for k, v in entry["by_phase"].items()}
            if not entry["why"]:
                entry["why"] = ["no call of this operation is needed"]
        calls = round(sum(e["calls"] for e in ops.values()), 2)
        least = round(sum(e["minimum"] for e in ops.values()), 2)
        providers[provider] = {
            "calls": calls,
            "minimum": least,
            "vs_minimum": round(calls / least, 2) if least else 0.0,
            "operations": dict(sorted(ops.items())),
        }
    calls = round(sum(p["calls"] for p in providers.values()), 2)
    least = round(sum(p["minimum"] for p in providers.values()), 2)
    return {"calls": calls, "minimum": least, "vs_minimum": round(calls / least, 2) if least else 0.0, **providers}


def _empty() -> dict:
    return {"calls": 0, "minimum": 0, "why": [], "by_phase": dict.fromkeys(PHASES, 0)}


def release_listener_certificates(listener_arn: str, region: str) -> int:
    """Detach every SNI certificate from a listener (an ALB listener takes 25), so each B1 scenario starts with
    room for its services'. With a client of its own: these are the harness's calls, not the portal's."""
    elbv2 = boto3.client("elbv2", region_name=region)
    listed = elbv2.describe_listener_certificates(ListenerArn=listener_arn)["Certificates"]
    arns = [{"CertificateArn": c["CertificateArn"]} for c in listed if not c.get("IsDefault")]
    if arns:
        elbv2.remove_listener_certificates(ListenerArn=listener_arn, Certificates=arns)
    return len(arns)


def run(aws_timer: AwsTimer, team: str, owner, sre, count: int, external_zone: str, *, prefix: str, cold: bool) -> dict:
    """``count`` services named ``<prefix>-000``...; ``cold``: the SRE approves after the plan-reuse window."""
    window = {"PORTAL_PLAN_REUSE_SECONDS": 0} if cold else {}
    samples = []
    with override_settings(**window):
        for index in range(count):
            sample = provision_one(aws_timer, f"{prefix}-{index:03d}", team, owner, sre, external_zone)
            if sample["reused_plan"] == cold:
                path = "applied the plan it was shown" if cold else "planned again"
                raise RuntimeError(f"{'B1-cold' if cold else 'B1'}: the run of {sample['service']} {path}")
            samples.append(sample)

    def stat(key: str) -> dict[str, float]:
        values = [s[key] for s in samples]
        return {"p50": round(percentile(values, 50), 4), "p95": round(percentile(values, 95), 4)}

    calls = breakdown(samples, plans=2 if cold else 1)
    calls[KUBERNETES]["target"] = "gitops"
    return {
        "services": len(samples),
        "wall_s": stat("wall_s"),
        "overhead_s": stat("overhead_s"),
        "aws_s": stat("aws_s"),
        "k8s_s": stat("k8s_s"),
        "overhead_p50_s": stat("overhead_s")["p50"],
        "overhead_p95_s": stat("overhead_s")["p95"],
        "calls_per_service": calls["calls"],
        "minimum_per_service": calls["minimum"],
        "calls_vs_minimum": calls["vs_minimum"],
        "aws_vs_minimum": calls[AWS]["vs_minimum"],
        "kubernetes_vs_minimum": calls[KUBERNETES]["vs_minimum"],
        "calls": calls,
        "note": "one service at a time: register (serializer), plan, apply request, SRE approval "
        + ("after the plan-reuse window (the run plans again)" if cold else "at once (the run applies that plan)")
        + ", the run (claim + perform, as the worker does) with the gitops target; AWS time is botocore's calls to "
        "moto's server, Kubernetes time is the gitops reader/writer (files and git); overhead is the rest; calls "
        "are per service, against bench.minimum (each operation says why)",
    }
