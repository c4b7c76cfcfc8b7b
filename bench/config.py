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
    provision_services: int  # B1 and B1-cold: external services registered, planned and applied one after another
    # B7: the drift sweep at each of these sizes (each adds applied services to the last); B2 is the largest.
    drift_steps: tuple[int, ...]
    # B2: every Nth service is exposed through the internal ALB (a record, a certificate, a metric filter and an
    # alarm in AWS); an ALB listener takes 25 certificates (the sandbox counts its default one), and the internal
    # listener holds the platform's own five hosts' besides, so 2,000 services have 16 exposed ones.
    drift_exposed_every: int
    api_services: int  # B4: services in PostgreSQL
    api_requests: int  # B4: requests drawn (after warm-up)
    analyze_objects: int  # B8
    analyze_repeats: int  # B8
    teams: int


FULL = Sizes(
    provision_services=20,
    drift_steps=(500, 1000, 2000),
    drift_exposed_every=125,
    api_services=5000,
    api_requests=1600,
    analyze_objects=200,
    analyze_repeats=7,
    teams=40,
)
SMOKE = Sizes(
    provision_services=2,
    drift_steps=(2, 4),
    drift_exposed_every=2,
    api_services=20,
    api_requests=24,
    analyze_objects=30,
    analyze_repeats=1,
    teams=2,
)

# What each scenario measures (the README's table shows it beside the figures).
SCENARIOS = {
    "B1": "register, plan and apply 20 external services one after another, an SRE approving at once (the run "
    "applies the plan it was shown); gitops target + moto; overhead = wall minus time inside AWS and gitops calls; "
    "calls per service against the minimum per operation (bench/minimum.py)",
    "B1-cold": "the same with the approval after the plan-reuse window: the run plans again before applying",
    "B2": "drift sweep of 2,000 applied services by a worker with 2 pool processes; kubernetes target (the API "
    "double over HTTP) + moto; every check must succeed",
    "B3": "render_service of 2,000 services on one core",
    "B4": "gunicorn (3 workers) and a Celery worker (1 process), 5,000 services, 8 concurrent clients: random list "
    "pages, filters (team, exposure, search), details, 10 % scorecard reads (cards sorted and filtered, team levels, "
    "rule counts) and 10 % PATCH with If-Match",
    "B5": "peak RSS (VmHWM) per process",
    "B6": "one external service's Kubernetes objects applied by the portal's kubernetes target and by kubectl apply "
    "--server-side, each to a fresh API double: first apply, no-op, one field changed; requests the double received",
    "B7": "drift sweep at 500, 1,000 and 2,000 services: per-service wall time and reads (flat), database rows "
    "written per sweep",
    "B8": "analyze -f on 200 objects (python -m provisioning.analyze in a fresh interpreter)",
}

# Targets: scenario -> figure -> (comparison, value).
TARGETS = {
    "B1": {
        "overhead_p50_s": ("<=", 1.0),
        "calls_vs_minimum": ("<=", 1.1),
        "aws_vs_minimum": ("<=", 1.1),
        "kubernetes_vs_minimum": ("<=", 1.1),
    },
    "B1-cold": {"overhead_p50_s": ("<=", 1.0), "calls_vs_minimum": ("<=", 1.5)},
    "B2": {"wall_s": ("<=", 60.0), "writes": ("==", 0), "checks_missed": ("==", 0)},
    "B3": {"services_per_s": (">=", 1000.0)},
    "B4": {
        "read_p95_ms": ("<=", 100.0),
        # The read target again for the scorecard reads alone, which a mix of ten reads to one cannot hide.
        "scorecards_p95_ms": ("<=", 100.0),
        "write_p95_ms": ("<=", 250.0),
        "queries_per_request": ("<=", 10),
        "errors": ("==", 0),
    },
    "B5": {"peak_rss_mb": ("<=", 300.0)},
    "B6": {
        "first_requests_vs_kubectl": ("<=", 1.0),
        "noop_requests_vs_kubectl": ("<=", 1.0),
        "change_requests_vs_kubectl": ("<=", 1.0),
        "noop_writes": ("==", 0),
        "wall_vs_kubectl": ("<=", 1.0),
    },
    "B7": {
        "reads_per_service_growth": ("<=", 1.2),
        "wall_per_service_growth": ("<=", 1.2),
        "rows_per_service_per_sweep": ("<=", 1.0),
        "checks_missed": ("==", 0),
    },
    "B8": {"command_wall_ms": ("<=", 1000.0)},
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
            # What the web sends (the scorecards' computations) goes to the run's own workers, too.
            "PORTAL_CELERY_QUEUE": f"bench-{os.getpid()}",
        }
    )
    if CRD_DIR.is_dir():
        env["PORTAL_CRD_DIR"] = str(CRD_DIR)
    return env


def work_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="portal-bench-"))
