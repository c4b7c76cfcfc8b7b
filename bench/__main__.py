"""python -m bench [--smoke] [--output PATH] [--only B1,B1-cold,B2,B3,B4,B6,B7,B8]

Starts its own moto server, Kubernetes API doubles, Celery worker and gunicorn against a fresh PostgreSQL database
(``portal_bench``, or ``portal_bench_smoke``; dropped at the end) and Redis, runs the scenarios, prints every figure
with its target and writes the results (default ``bench/results.json``). ``--smoke`` (or ``BENCH_SMOKE=1``) uses
tiny sizes.
"""

import argparse
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from .config import (
    FULL,
    GUNICORN_WORKERS,
    RESULTS,
    SCENARIOS,
    SMOKE,
    TARGETS,
    WORKER_PROCESSES,
    process_env,
    work_dir,
)
from .processes import (
    drop_database,
    recreate_database,
    start_gunicorn,
    start_kubernetes_double,
    start_moto,
    start_worker,
    write_kubeconfig,
)

RUNNABLE = [name for name in SCENARIOS if name != "B5"]  # B5 comes with the scenarios that run processes


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[1])
    parser.add_argument("--smoke", action="store_true", default=os.environ.get("BENCH_SMOKE") == "1")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--only", default=",".join(RUNNABLE), help="comma-separated scenarios (B5 comes with B2/B4/B7)")
    parser.add_argument("--keep", action="store_true", help="keep the database and the work directory")
    args = parser.parse_args(argv)
    known = {name.upper(): name for name in RUNNABLE}
    asked = [s.strip().upper() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in asked if s not in known]
    if unknown:
        parser.error(f"--only: no scenario {', '.join(unknown)}; choose among {', '.join(RUNNABLE)}")
    args.only = {known[s] for s in asked}
    return args


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
        results = run(sizes, args.only, env, work, logs, started, k8s_url)
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

    from . import analyze, api, drift, growth, kubectl, machine, provision, render, report, seed
    from .instrument import AwsTimer
    from .internals import PlatformSettings, Service, Team, aws_session, bootstrap, is_write
    from .processes import own_peak_rss_mb
    from .workerapp import app  # every task this run sends goes to the run's own queue

    results: dict = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sizes": sizes.__dict__,
        "machine": machine.describe(),
        "scenarios": {},
    }
    scenarios = results["scenarios"]

    def record(name: str, figures: dict, shown: list[str]) -> None:
        scenarios[name] = {
            "what": SCENARIOS[name],
            **figures,
            "targets": report.judge(name, figures),
            "shown": {key: figures[key] for key in shown if key not in TARGETS[name]},
        }

    say("migrating")
    call_command("migrate", verbosity=0)
    say("bootstrapping the platform in the AWS sandbox")
    timer = AwsTimer().install(aws_session(), is_write)
    bootstrap(PlatformSettings.load(), certificate_wait=30)
    platform = PlatformSettings.load()
    owner, sre = seed.users()
    teams = seed.teams(sizes.teams, owner)

    def more_services(count: int) -> list[str]:
        start = Service.objects.filter(name__startswith="svc-").count()
        return seed.services(start, count, teams, platform.internal_zone, sizes.drift_exposed_every)

    memory: dict = {}
    if only & {"B2", "B7"}:
        platform.kubernetes_target = "kubernetes"
        platform.save()
        app.control.purge()
        counts = work / "counts"
        counts.mkdir()
        worker = None
        steps = []
        for size in sizes.drift_steps if "B7" in only else sizes.drift_steps[-1:]:
            names = more_services(size - Service.objects.filter(name__startswith="svc-").count())
            say(f"B2/B7: applying {len(names)} more services (cluster target: the API double; AWS: moto)")
            t0 = time.perf_counter()
            written = seed.applied_state(names)
            say(f"B2/B7: {written} resources applied in {time.perf_counter() - t0:.0f}s")
            if worker is None:
                worker = start_worker({**env, "BENCH_COUNTS_DIR": str(counts)}, logs, WORKER_PROCESSES)
                started.append(worker)
            say(f"B2/B7: drift sweep of {size} services")
            before = growth.table_rows()
            sweep = drift.run(worker, k8s_url, counts, timeout=1800)
            steps.append(growth.step(sweep, before, growth.table_rows()))
        peaks = worker.peak_rss_mb()
        worker.stop()
        memory["worker_peak_rss_mb"] = round(max(peaks.values()), 1)
        memory["worker_processes_rss_mb"] = sorted(round(v, 1) for v in peaks.values())
        if "B2" in only:
            record("B2", sweep, ["reads", "services_per_s", "checks_succeeded", "drift_found"])
        if "B7" in only:
            record(
                "B7",
                growth.summary(steps),
                ["sizes"],
            )

    if "B3" in only:
        missing = sizes.drift_steps[-1] - Service.objects.filter(name__startswith="svc-").count()
        more_services(max(0, missing))
        names = list(Service.objects.filter(name__startswith="svc-").order_by("name").values_list("name", flat=True))
        say(f"B3: render {len(names)} services on one core")
        figures = render.run(names)
        record("B3", figures, ["services", "resources"])

    for name, cold in (("B1", False), ("B1-cold", True)):
        if name not in only:
            continue
        say(f"{name}: register, plan and apply {sizes.provision_services} external services (gitops target)")
        platform.kubernetes_target = "gitops"
        platform.save()
        team = seed.teams(1, owner, prefix="b1c-" if cold else "b1-")[0]
        figures = provision.run(
            timer,
            team.slug,
            owner,
            sre,
            sizes.provision_services,
            platform.external_zone,
            prefix="cold" if cold else "ext",
            cold=cold,
        )
        record(name, figures, ["overhead_p95_s", "calls_per_service", "minimum_per_service"])

    if "B6" in only:
        say("B6: one service's objects by the portal's kubernetes target and by kubectl apply --server-side")
        figures = kubectl.run(env, work, logs)
        record("B6", figures, [f"{step}_{side}" for step in kubectl.STEPS for side in ("requests", "kubectl_requests")])

    if "B4" in only:
        more = max(0, sizes.api_services - Service.objects.count())
        say(f"B4: {more} more services (to {sizes.api_services}); gunicorn with {GUNICORN_WORKERS} workers")
        more_services(more)
        web, url = start_gunicorn(env, logs, GUNICORN_WORKERS)
        started.append(web)
        names = list(Service.objects.order_by("name").values_list("name", flat=True))
        slugs = list(Team.objects.order_by("slug").values_list("slug", flat=True))
        figures = api.run(url, owner, names, slugs, sizes.api_requests, work)
        peaks = web.peak_rss_mb()
        web.stop()
        memory["web_peak_rss_mb"] = round(max(peaks.values()), 1)
        memory["web_processes_rss_mb"] = sorted(round(v, 1) for v in peaks.values())
        record("B4", figures, ["read_p50_ms", "write_p50_ms", "throughput_rps", "requests"])

    if "B8" in only:
        say(f"B8: analyze -f on {sizes.analyze_objects} objects")
        figures = analyze.run(objects=sizes.analyze_objects, repeats=sizes.analyze_repeats)
        record("B8", figures, ["objects", "in_process_ms", "command_cpu_ms"])

    app.control.purge()  # what B1's approvals sent (this process carried those runs out itself)
    if memory:
        memory["peak_rss_mb"] = max(v for k, v in memory.items() if k.endswith("peak_rss_mb"))
        memory["harness_peak_rss_mb"] = round(own_peak_rss_mb(), 1)
        record("B5", memory, [k for k in memory if k.endswith("peak_rss_mb") and k != "peak_rss_mb"])
    return results


if __name__ == "__main__":
    sys.exit(main())
