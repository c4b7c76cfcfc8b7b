"""Sizes and targets of the benchmarks, and the environment every process of a run shares."""

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.json"
CRD_DIR = ROOT / "provisioning" / "crds"


@dataclass(frozen=True)
class Sizes:
    provision_services: int  # B1: external services registered, planned and applied one after another
    drift_services: int  # B2: services applied before the sweep
    # B2: every Nth service is exposed through the internal ALB (a record, a certificate, a metric filter and an
    # alarm in AWS); an ALB listener takes 25 certificates, so 2,000 services have 20 exposed ones.
    drift_exposed_every: int
    drift_batch: int  # B2: services one sweep task checks with shared reads
    render_services: int  # B3
    api_services: int  # B4: services in PostgreSQL
    api_requests: int  # B4: requests per endpoint (after warm-up)
    teams: int


FULL = Sizes(
    provision_services=20,
    drift_services=2000,
    drift_exposed_every=100,
    drift_batch=100,
    render_services=2000,
    api_services=5000,
    api_requests=400,
    teams=40,
)
SMOKE = Sizes(
    provision_services=2,
    drift_services=2,
    drift_exposed_every=2,
    drift_batch=100,
    render_services=20,
    api_services=20,
    api_requests=16,
    teams=2,
)

# Targets of the issue: (figure, comparison, value).
TARGETS = {
    "B1": {"overhead_p50_s": ("<=", 1.0), "calls_vs_minimal": ("<=", 1.1)},
    "B2": {"wall_s": ("<=", 60.0), "writes": ("==", 0)},
    "B3": {"services_per_s": (">=", 1000.0)},
    "B4": {"p95_ms": ("<=", 100.0), "queries_per_request": ("<=", 10)},
    "B5": {"peak_rss_mb": ("<=", 300.0)},
}

WORKER_PROCESSES = 2  # B2: the sweep's Celery pool
API_CONCURRENCY = 8  # B4
GUNICORN_WORKERS = 3  # as the production image runs it (Dockerfile)


def database_url(name: str) -> str:
    base = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    return f"{base.rstrip('/')}/{name}"


def redis_url() -> str:
    return os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")


def process_env(*, database: str, aws_url: str, work_dir: Path, kubeconfig: str = "") -> dict[str, str]:
    """Production settings (DEBUG off, PostgreSQL, Redis) pointed at the sandboxes; one set for every process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_", "PORTAL_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings.production",
            "DJANGO_SECRET_KEY": "bench-secret-key-with-enough-length-to-be-accepted-0000",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url(database),
            "REDIS_URL": redis_url(),
            "PORTAL_ENCRYPTION_KEYS": "YmVuY2gtZW5jcnlwdGlvbi1rZXktMzItYnl0ZXMtb2s=",
            "PORTAL_GITOPS_DIR": str(work_dir / "gitops"),
            "PORTAL_BROKER_DIR": str(work_dir / "broker"),
            "PORTAL_KUBECONFIG": kubeconfig,
            "PORTAL_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
            "PORTAL_AWS_WAIT_SECONDS": "30",
            # B4 drives one token as hard as it can: measure the API, not its per-token rate limit.
            "PORTAL_API_RATE": "1000000/min",
            "AWS_ENDPOINT_URL": aws_url,
            "AWS_DEFAULT_REGION": "ap-northeast-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "PYTHONUNBUFFERED": "1",
            "BENCH_QUEUE": f"bench-{os.getpid()}",
        }
    )
    if CRD_DIR.is_dir():
        env["PORTAL_CRD_DIR"] = str(CRD_DIR)
    return env


def work_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="portal-bench-"))
