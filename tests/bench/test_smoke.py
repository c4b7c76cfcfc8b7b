"""The benchmark harness with tiny sizes: it must keep running and report every figure. Speed targets belong to
the full run (``make bench``), not to tests, so nothing here is timed."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.bench, pytest.mark.slow]

FIGURES = {
    "B1": ["overhead_p50_s", "calls_vs_minimal", "calls_per_service", "minimal_calls_per_service"],
    "B2": ["wall_s", "reads", "writes", "k8s_reads", "aws_reads", "drift_found"],
    "B3": ["services_per_s", "services", "resources"],
    "B4": ["p95_ms", "queries_per_request"],
    "B5": ["peak_rss_mb", "worker_peak_rss_mb", "web_peak_rss_mb"],
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
        "BENCH_REDIS_URL": settings.REDIS_URL.rsplit("/", 1)[0] + "/14",
        "BENCH_DATABASE": f"portal_bench_smoke_{os.getpid()}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--output", str(output)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-6000:]
    results = json.loads(output.read_text())
    assert results["mode"] == "smoke"
    assert all(results["machine"].get(key) for key in MACHINE), results["machine"]
    for scenario, figures in FIGURES.items():
        data = results["scenarios"][scenario]
        for figure in figures:
            assert isinstance(data.get(figure), int | float), (scenario, figure, data.get(figure))
        assert all(isinstance(check["pass"], bool) for check in data["targets"].values())
    assert results["scenarios"]["B2"]["writes"] == 0
    assert results["scenarios"]["B2"]["drift_found"] == 0
    assert "B1" in done.stdout and "services_per_s" in done.stdout  # the table
