"""B2: the drift sweep over the applied services, carried out by a Celery worker with 2 pool processes against the
Kubernetes API double (the cluster target, over HTTP) and moto's server. Reads and writes are counted where they
arrive (the double's request log) and where they leave (botocore events in each pool process). A check counts only
when its run succeeded: a failed or cancelled check is a miss, however fast."""

import json
import time
from pathlib import Path

from django.db.models import Count, Max, Min

from tests.k8sdouble.client import DoubleClient

from .internals import ProvisioningRun, RunAction, RunStatus, Service, ServiceState, drift_sweep
from .processes import Process, wait_until

FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


def aws_counts(folder: Path) -> dict:
    """What every pool process has counted since it started (each writes its totals after each task)."""
    total = {"reads": 0, "writes": 0, "seconds": 0.0, "operations": {}}
    for path in folder.glob("*.json"):
        data = json.loads(path.read_text())
        total["reads"] += data["reads"]
        total["writes"] += data["writes"]
        total["seconds"] += data["seconds"]
        for op, n in data["operations"].items():
            total["operations"][op] = total["operations"].get(op, 0) + n
    return total


def since(after: dict, before: dict) -> dict:
    operations = {op: n - before["operations"].get(op, 0) for op, n in after["operations"].items()}
    return {
        "reads": after["reads"] - before["reads"],
        "writes": after["writes"] - before["writes"],
        "seconds": after["seconds"] - before["seconds"],
        "operations": {op: n for op, n in operations.items() if n},
    }


def run(worker: Process, double_url: str, counts_dir: Path, timeout: float) -> dict:
    double = DoubleClient(double_url)
    double.clear_requests()
    aws_before = aws_counts(counts_dir)
    first = (ProvisioningRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    runs = ProvisioningRun.objects.filter(pk__gte=first, action=RunAction.DRIFT_CHECK)
    services = Service.objects.filter(state=ServiceState.ACTIVE).count()  # the sweep checks every one
    checks = runs.filter(service__isnull=False)  # and the platform's scope, once, besides

    started = time.perf_counter()
    drift_sweep.delay()

    def done() -> bool:
        if worker.popen.poll() is not None:
            raise RuntimeError(f"the worker exited:\n{worker.output()[-4000:]}")
        return checks.filter(status__in=FINISHED).count() >= services and not runs.exclude(status__in=FINISHED).exists()

    wait_until(done, timeout, f"the drift checks of {services} services")
    wall = time.perf_counter() - started
    time.sleep(0.5)  # the last task's counts are written right after it returns

    span = runs.aggregate(first=Min("created_at"), last=Max("created_at"), done=Max("finished_at"))
    statuses = dict(runs.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    succeeded = checks.filter(status=RunStatus.SUCCEEDED).count()
    platform_missed = runs.filter(service__isnull=True).exclude(status=RunStatus.SUCCEEDED).count()
    failures = list(runs.exclude(status=RunStatus.SUCCEEDED).values_list("scope", "status", "error")[:5])
    drifted = runs.filter(drift_found=True).count()
    records = double.requests
    k8s_reads = sum(1 for r in records if not r.is_write)
    k8s_writes = sum(1 for r in records if r.is_write)
    aws = since(aws_counts(counts_dir), aws_before)
    reads = k8s_reads + aws["reads"]
    return {
        "services": services,
        "wall_s": round(wall, 2),
        "services_per_s": round(services / wall, 1),
        "runs": statuses,
        "checks_succeeded": succeeded,
        "checks_missed": services - succeeded + platform_missed,
        "failures": [{"scope": s, "status": st, "error": e[:300]} for s, st, e in failures],
        "requesting_s": round((span["last"] - span["first"]).total_seconds(), 2) if span["first"] else 0.0,
        "drift_found": drifted,
        "reads": reads,
        "reads_per_service": round(reads / services, 3) if services else 0.0,
        "writes": k8s_writes + aws["writes"],
        "k8s_reads": k8s_reads,
        "k8s_writes": k8s_writes,
        "aws_reads": aws["reads"],
        "aws_writes": aws["writes"],
        "aws_s": round(aws["seconds"], 2),
        "aws_operations": dict(sorted(aws["operations"].items())),
        "note": "provisioning.drift_sweep sent to a worker with 2 pool processes (kubernetes target: the API double "
        "in its own process; AWS: moto's server); wall time until every drift-check run finished; a check that "
        "failed or was cancelled is missed (checks_missed)",
    }
