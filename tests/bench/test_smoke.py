"""The benchmark harness with tiny sizes: it must keep running and report every figure. Speed targets belong to
the full run (``make bench``), not to tests, so nothing here is timed."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from bench.config import TARGETS

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.bench, pytest.mark.slow]

FIGURES = {
    "B1": ["overhead_p50_s", "calls_vs_minimum", "aws_vs_minimum", "kubernetes_vs_minimum", "calls_per_service"],
    "B1-cold": ["overhead_p50_s", "overhead_p95_s", "calls_vs_minimum", "minimum_per_service"],
    "B2": ["wall_s", "reads", "writes", "k8s_reads", "aws_reads", "drift_found", "checks_succeeded", "checks_missed"],
    "B3": ["services_per_s", "services", "resources"],
    "B4": ["read_p95_ms", "scorecards_p95_ms", "write_p95_ms", "queries_per_request", "errors", "throughput_rps"],
    "B5": ["peak_rss_mb", "worker_peak_rss_mb", "web_peak_rss_mb"],
    "B6": [f"{step}_{figure}" for step in ("first", "noop", "change") for figure in ("requests", "kubectl_requests")]
    + ["noop_writes", "wall_vs_kubectl"],
    "B7": ["reads_per_service_growth", "wall_per_service_growth", "rows_per_service_per_sweep", "checks_missed"],
    "B8": ["command_wall_ms", "in_process_ms", "objects"],
}
MACHINE = ["cpu", "cores", "memory_gb", "python", "os", "postgresql", "redis", "git_commit"]


def postgres_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"


def test_the_smoke_run_completes_and_writes_every_figure(tmp_path):
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql" or not settings.REDIS_URL:
        pytest.skip("the benchmarks run on PostgreSQL and Redis (DATABASE_URL and REDIS_URL)")
    output = tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_", "PORTAL_"))}
    env |= {
        "BENCH_POSTGRES": postgres_url(),
        # Not the suite's Redis database: tests clear their cache there, which would take the run's queue.
        "BENCH_REDIS_URL": os.environ.get("BENCH_REDIS_URL") or settings.REDIS_URL.rsplit("/", 1)[0] + "/14",
        "BENCH_DATABASE": f"portal_bench_smoke_{os.getpid()}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--output", str(output)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-6000:]
    results = json.loads(output.read_text())
    assert results["mode"] == "smoke" and results["failed"] == []
    assert all(results["machine"].get(key) for key in MACHINE), results["machine"]
    for scenario, figures in FIGURES.items():
        data = results["scenarios"][scenario]
        for figure in figures:
            assert isinstance(data.get(figure), int | float), (scenario, figure, data.get(figure))
        assert all(isinstance(check["pass"], bool) for check in data["targets"].values())
    for scenario, targets in TARGETS.items():
        assert set(results["scenarios"][scenario]["targets"]) == set(targets), scenario
    scenarios = results["scenarios"]
    assert scenarios["B2"]["writes"] == 0 and scenarios["B2"]["drift_found"] == 0
    # Every drift check succeeded: a failed or cancelled one would be fast and wrong.
    # (4 services, and the platform scope's check the sweep makes once besides.)
    assert scenarios["B2"]["checks_missed"] == 0 and scenarios["B2"]["runs"] == {"succeeded": 5}
    assert scenarios["B7"]["checks_missed"] == 0 and scenarios["B7"]["sizes"] == [2, 4]
    assert scenarios["B4"]["errors"] == 0 and scenarios["B6"]["noop_writes"] == 0
    for name in ("B1", "B1-cold"):
        calls = scenarios[name]["calls"]
        assert set(calls) >= {"aws", "kubernetes", "calls", "minimum"}
        for provider in ("aws", "kubernetes"):
            for op, entry in calls[provider]["operations"].items():
                assert entry["why"] and set(entry["by_phase"]) == {"plan", "run"}, (name, op)
    assert "B1" in done.stdout and "services_per_s" in done.stdout and "ListResourceRecordSets" in done.stdout
