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
from pathlib import Path

from .config import FULL, RESULTS, SCENARIOS, SMOKE, process_env, work_dir
from .processes import drop_database, recreate_database, start_kubernetes_double, start_moto, write_kubeconfig

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
        from . import harness, report  # they load the portal's models: only once Django is set up

        results = harness.run(sizes, args.only, env, work, logs, started, k8s_url, say)
        results["mode"] = "smoke" if args.smoke else "full"

        report.write(results, args.output)
        print(report.table(results))
        say(f"results written to {args.output}")
        if results["failed"]:
            say(f"failed: {', '.join(results['failed'])}")
            return 1
    finally:
        for process in reversed(started):
            process.stop()
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop_database(database)
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
