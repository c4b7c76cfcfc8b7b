"""python -m bench [--smoke] [--output PATH] [--only B1,B2,B3,B4]

Starts its own moto server, Kubernetes API double, Celery worker and gunicorn against a fresh PostgreSQL database
(``portal_bench``, or ``portal_bench_smoke``; dropped at the end) and Redis, runs the scenarios, prints a table and
writes the results (default ``bench/results.json``). ``--smoke`` (or ``BENCH_SMOKE=1``) uses tiny sizes.
"""

import argparse
import io
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from .config import FULL, GUNICORN_WORKERS, RESULTS, SMOKE, WORKER_PROCESSES, process_env, work_dir
from .processes import (
    drop_database,
    recreate_database,
    start_gunicorn,
    start_kubernetes_double,
    start_moto,
    start_worker,
    write_kubeconfig,
)

SCENARIOS = ("B1", "B2", "B3", "B4")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[1])
    parser.add_argument("--smoke", action="store_true", default=os.environ.get("BENCH_SMOKE") == "1")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios (B5 comes with B2/B4)")
    parser.add_argument("--keep", action="store_true", help="keep the database and the work directory")
    return parser.parse_args(argv)


def setup_django(env: dict[str, str]) -> None:
    for key in [k for k in os.environ if k.startswith(("DJANGO_", "PORTAL_"))]:
        del os.environ[key]
    os.environ.update(env)
    import django

    django.setup()


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    sizes = SMOKE if args.smoke else FULL
    only = {s.strip().upper() for s in args.only.split(",") if s.strip()}
    database = os.environ.get("BENCH_DATABASE") or ("portal_bench_smoke" if args.smoke else "portal_bench")
    work = work_dir()
    logs = work / "logs"
    logs.mkdir()
    started = []
    say(f"{'smoke' if args.smoke else 'full'} run; database {database}; work directory {work}")
    try:
        recreate_database(database)
        env = process_env(database=database, aws_url="", work_dir=work)
        moto, aws_url = start_moto(env, logs)
        started.append(moto)
        double, k8s_url = start_kubernetes_double(env, logs)
        started.append(double)
        kubeconfig = write_kubeconfig(k8s_url, work / "kubeconfig")
        env = process_env(database=database, aws_url=aws_url, work_dir=work, kubeconfig=str(kubeconfig))
        setup_django(env)
        results = run(sizes, only, env, work, logs, started, k8s_url)
        results["mode"] = "smoke" if args.smoke else "full"
        from . import report

        report.write(results, args.output)
        print(report.table(results))
        say(f"results written to {args.output}")
    finally:
        for process in reversed(started):
            process.stop()
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop_database(database)
            shutil.rmtree(work, ignore_errors=True)
    return 0


def run(sizes, only: set[str], env: dict[str, str], work: Path, logs: Path, started: list, k8s_url: str) -> dict:
    from django.core.management import call_command

    from portal.catalog.models import PlatformSettings, Service
    from provisioning.operations import bootstrap_platform

    from . import api, drift, machine, provision, render, report, seed
    from .instrument import AwsTimer
    from .processes import own_peak_rss_mb
    from .workerapp import app  # every task this run sends goes to the run's own queue

    results: dict = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sizes": sizes.__dict__,
        "machine": machine.describe(),
        "scenarios": {},
    }
    scenarios = results["scenarios"]

    def record(name: str, figures: dict, shown: dict) -> None:
        scenarios[name] = {**figures, "targets": report.judge(name, figures), "shown": shown}

    say("migrating")
    call_command("migrate", verbosity=0)
    say("bootstrapping the platform in the AWS sandbox")
    timer = AwsTimer().install()
    call_command("prepare_sandbox", verbosity=0, stdout=io.StringIO())
    bootstrap_platform(wait_seconds=30)
    platform = PlatformSettings.load()
    owner, sre = seed.users()
    teams = seed.teams(sizes.teams, owner)

    names = []
    if only & {"B2", "B3"}:
        names = seed.services(0, sizes.drift_services, teams, platform.internal_zone, sizes.drift_exposed_every)

    if "B3" in only:
        say(f"B3: render {len(names)} services on one core")
        figures = render.run(names)
        record("B3", figures, {"resources": figures["resources"]})

    memory: dict = {}
    if "B2" in only:
        platform.kubernetes_target = "kubernetes"
        platform.save()
        bootstrap_platform(wait_seconds=30)  # the platform layer's objects in the cluster too: its check finds them
        say(f"B2: applying {len(names)} services (cluster target: the API double; AWS: moto)")
        t0 = time.perf_counter()
        written = seed.applied_state(names)
        say(f"B2: {written} resources applied in {time.perf_counter() - t0:.0f}s; starting the worker")
        app.control.purge()
        counts = work / "counts"
        counts.mkdir()
        worker = start_worker({**env, "BENCH_COUNTS_DIR": str(counts)}, logs, WORKER_PROCESSES)
        started.append(worker)
        say("B2: drift sweep")
        figures = drift.run(worker, k8s_url, counts, timeout=1800)
        peaks = worker.peak_rss_mb()
        worker.stop()
        memory["worker_peak_rss_mb"] = round(max(peaks.values()), 1)
        memory["worker_processes_rss_mb"] = sorted(round(v, 1) for v in peaks.values())
        record(
            "B2",
            figures,
            {k: figures[k] for k in ("reads", "services_per_s", "drift_found")},
        )

    if "B1" in only:
        say(f"B1: register, plan and apply {sizes.provision_services} external services (gitops target)")
        platform.kubernetes_target = "gitops"
        platform.save()
        b1_team = seed.teams(1, owner, prefix="b1-")[0]
        figures = provision.run(timer, b1_team.slug, owner, sre, sizes.provision_services, platform.external_zone)
        record(
            "B1",
            figures,
            {
                "wall_p50_s": figures["wall_s"]["p50"],
                "overhead_p95_s": figures["overhead_s"]["p95"],
                "aws_p50_s": figures["aws_s"]["p50"],
                "k8s_p50_s": figures["k8s_s"]["p50"],
                "calls_per_service": figures["calls_per_service"],
                "minimal_calls_per_service": figures["minimal_calls_per_service"],
            },
        )

    if "B4" in only:
        more = max(0, sizes.api_services - Service.objects.count())
        say(f"B4: {more} more services (to {sizes.api_services}); gunicorn with {GUNICORN_WORKERS} workers")
        extra = seed.services(len(names), more, teams, platform.internal_zone, sizes.drift_exposed_every)
        all_names = names + extra
        web, url = start_gunicorn(env, logs, GUNICORN_WORKERS)
        started.append(web)
        detail = all_names[len(all_names) // 2 // sizes.drift_exposed_every * sizes.drift_exposed_every]
        figures = api.run(url, owner, detail, sizes.api_requests)
        peaks = web.peak_rss_mb()
        web.stop()
        memory["web_peak_rss_mb"] = round(max(peaks.values()), 1)
        memory["web_processes_rss_mb"] = sorted(round(v, 1) for v in peaks.values())
        record(
            "B4",
            figures,
            {
                f"{label}_{k}": v[k]
                for label, v in figures["endpoints"].items()
                for k in ("p50_ms", "p95_ms", "queries_per_request", "throughput_rps")
            },
        )

    app.control.purge()  # what B1's approvals sent (this process carried those runs out itself)
    if memory:
        memory["peak_rss_mb"] = max(v for k, v in memory.items() if k.endswith("peak_rss_mb"))
        memory["harness_peak_rss_mb"] = round(own_peak_rss_mb(), 1)
        record("B5", memory, {k: v for k, v in memory.items() if k.endswith("peak_rss_mb") and k != "peak_rss_mb"})
    return results


if __name__ == "__main__":
    sys.exit(main())
