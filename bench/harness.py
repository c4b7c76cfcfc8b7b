"""One benchmark run: the platform bootstrapped in the AWS sandbox, then each scenario in turn, its figures recorded
with their targets. A scenario that fails is recorded as failed (its targets missed, the error kept) and the others
still run. Import after ``django.setup()``."""

import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from django.core.management import call_command

from . import analyze, api, drift, growth, kubectl, machine, provision, render, report, seed
from .config import GUNICORN_WORKERS, SCENARIOS, TARGETS, WORKER_PROCESSES, Sizes
from .instrument import AwsTimer
from .internals import PlatformSettings, Service, Team, aws_session, bootstrap, is_write, platform_snapshot
from .processes import Process, own_peak_rss_mb, start_gunicorn, start_worker
from .workerapp import app  # every task this run sends goes to the run's own queue

SEEDED = "svc-"  # the services seed.services names (B1's are ext-*, B1-cold's cold-*)


class Harness:
    """The run's processes, people, teams and results; one method per scenario (or pair sharing its setup)."""

    def __init__(self, sizes: Sizes, env: dict[str, str], work: Path, logs: Path, started: list[Process], say):
        self.sizes, self.env, self.work, self.logs, self.started, self.say = sizes, env, work, logs, started, say
        self.results: dict = {
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "sizes": sizes.__dict__,
            "machine": machine.describe(),
            "scenarios": {},
            "failed": [],
        }
        self.memory: dict = {}
        self.say("migrating")
        call_command("migrate", verbosity=0)
        self.say("bootstrapping the platform in the AWS sandbox")
        self.timer = AwsTimer().install(aws_session(), is_write)
        bootstrap()
        self.platform = PlatformSettings.load()
        self.owner, self.sre = seed.users()
        self.teams = seed.teams(sizes.teams, self.owner)

    def record(self, name: str, figures: dict, shown: list[str]) -> None:
        self.results["scenarios"][name] = {
            "what": SCENARIOS[name],
            **figures,
            "targets": report.judge(name, figures),
            "shown": {key: figures[key] for key in shown if key not in TARGETS[name]},
        }

    def attempt(self, names: list[str], scenario: Callable[[], None]) -> None:
        """Run a scenario; when it fails, record its figures as missing and the error, and go on."""
        try:
            scenario()
        except Exception as exc:
            self.say(f"{', '.join(names)} failed:\n{traceback.format_exc()}")
            for name in names:
                self.results["scenarios"][name] = {
                    "what": SCENARIOS[name],
                    "error": f"{type(exc).__name__}: {exc}",
                    "targets": report.judge(name, {}),
                    "shown": {},
                }
            self.results["failed"] += names

    def target(self, name: str) -> None:
        """Switch the Kubernetes target; the platform layer is applied to a new one (its drift check finds it)."""
        if self.platform.kubernetes_target == name:
            return
        self.platform.kubernetes_target = name
        self.platform.save()
        bootstrap()

    def seeded(self) -> int:
        return Service.objects.filter(name__startswith=SEEDED).count()

    def more_services(self, count: int) -> list[str]:
        return seed.services(
            self.seeded(), count, self.teams, self.platform.internal_zone, self.sizes.drift_exposed_every
        )

    # --- the scenarios ------------------------------------------------------------------------------------------

    def drift(self, k8s_url: str, growth_too: bool, b2_too: bool) -> None:
        """B7 (the sweep at each size) and B2 (the largest); B2 alone sweeps once, at the largest size."""
        self.target("kubernetes")
        app.control.purge()
        counts = self.work / "counts"
        counts.mkdir(exist_ok=True)
        worker = None
        steps, sweep = [], {}
        for size in self.sizes.drift_steps if growth_too else self.sizes.drift_steps[-1:]:
            names = self.more_services(size - self.seeded())
            self.say(f"B2/B7: applying {len(names)} more services (cluster target: the API double; AWS: moto)")
            t0 = time.perf_counter()
            written = seed.applied_state(names)
            self.say(f"B2/B7: {written} resources applied in {time.perf_counter() - t0:.0f}s")
            if worker is None:
                worker = start_worker({**self.env, "BENCH_COUNTS_DIR": str(counts)}, self.logs, WORKER_PROCESSES)
                self.started.append(worker)
            self.say(f"B2/B7: drift sweep of {size} services")
            before = growth.table_rows()
            sweep = drift.run(worker, k8s_url, counts, timeout=1800)
            steps.append(growth.step(sweep, before, growth.table_rows()))
        peaks = worker.peak_rss_mb()
        worker.stop()
        self.memory["worker_peak_rss_mb"] = round(max(peaks.values()), 1)
        self.memory["worker_processes_rss_mb"] = sorted(round(v, 1) for v in peaks.values())
        if b2_too:
            self.record("B2", sweep, ["reads", "services_per_s", "checks_succeeded", "drift_found"])
        if growth_too:
            self.record("B7", growth.summary(steps), ["sizes"])

    def render(self) -> None:
        self.more_services(max(0, self.sizes.drift_steps[-1] - self.seeded()))
        names = list(Service.objects.filter(name__startswith=SEEDED).order_by("name").values_list("name", flat=True))
        self.say(f"B3: render {len(names)} services on one core")
        figures = render.run(names)
        self.record("B3", figures, ["services", "resources"])

    def provision(self, name: str, cold: bool) -> None:
        count = self.sizes.provision_services
        self.say(f"{name}: register, plan and apply {count} external services (gitops target)")
        self.target("gitops")
        provision.release_listener_certificates(platform_snapshot().external_listener_arn, self.platform.region)
        team = seed.teams(1, self.owner, prefix="b1c-" if cold else "b1-")[0]
        prefix = "cold" if cold else "ext"
        figures = provision.run(
            self.timer, team.slug, self.owner, self.sre, count, self.platform.external_zone, prefix=prefix, cold=cold
        )
        self.record(name, figures, ["overhead_p95_s", "calls_per_service", "minimum_per_service"])

    def kubectl(self) -> None:
        self.say("B6: one service's objects by the portal's kubernetes target and by kubectl apply --server-side")
        figures = kubectl.run(self.env, self.work, self.logs)
        shown = [f"{step}_{side}" for step in kubectl.STEPS for side in ("requests", "kubectl_requests")]
        self.record("B6", figures, shown)

    def api(self) -> None:
        more = max(0, self.sizes.api_services - Service.objects.count())
        self.say(f"B4: {more} more services (to {self.sizes.api_services}); gunicorn with {GUNICORN_WORKERS} workers")
        self.more_services(more)
        web, url = start_gunicorn(self.env, self.logs, GUNICORN_WORKERS)
        self.started.append(web)
        # One worker process, as production has beside the web: it computes the scorecards the writes make due.
        app.control.purge()
        worker = start_worker(self.env, self.logs, 1)
        self.started.append(worker)
        names = list(Service.objects.order_by("name").values_list("name", flat=True))
        slugs = list(Team.objects.order_by("slug").values_list("slug", flat=True))
        figures = api.run(url, self.owner, names, slugs, self.sizes.api_requests, self.work)
        worker.stop()
        peaks = web.peak_rss_mb()
        web.stop()
        self.memory["web_peak_rss_mb"] = round(max(peaks.values()), 1)
        self.memory["web_processes_rss_mb"] = sorted(round(v, 1) for v in peaks.values())
        self.record(
            "B4",
            figures,
            [
                "read_p50_ms",
                "write_p50_ms",
                "scorecards_p95_ms",
                "read_p95_without_scorecards_ms",
                "scorecard_queries_one_overdue",
                "throughput_rps",
                "requests",
            ],
        )

    def analyze(self) -> None:
        self.say(f"B8: analyze -f on {self.sizes.analyze_objects} objects")
        figures = analyze.run(objects=self.sizes.analyze_objects, repeats=self.sizes.analyze_repeats)
        self.record("B8", figures, ["objects", "in_process_ms", "command_cpu_ms"])

    def memory_peaks(self) -> None:
        memory = self.memory
        memory["peak_rss_mb"] = max(v for k, v in memory.items() if k.endswith("peak_rss_mb"))
        memory["harness_peak_rss_mb"] = round(own_peak_rss_mb(), 1)
        self.record("B5", memory, [k for k in memory if k.endswith("peak_rss_mb") and k != "peak_rss_mb"])


def run(sizes: Sizes, only: set[str], env: dict[str, str], work: Path, logs: Path, started: list, k8s_url: str, say):
    """The scenarios asked for, in an order that lets them share what they seed; the results."""
    harness = Harness(sizes, env, work, logs, started, say)
    if only & {"B2", "B7"}:
        names = [n for n in ("B2", "B7") if n in only]
        harness.attempt(names, lambda: harness.drift(k8s_url, "B7" in only, "B2" in only))
    if "B3" in only:
        harness.attempt(["B3"], harness.render)
    for name, cold in (("B1", False), ("B1-cold", True)):
        if name in only:
            harness.attempt([name], lambda name=name, cold=cold: harness.provision(name, cold))
    if "B6" in only:
        harness.attempt(["B6"], harness.kubectl)
    if "B4" in only:
        harness.attempt(["B4"], harness.api)
    if "B8" in only:
        harness.attempt(["B8"], harness.analyze)
    app.control.purge()  # what B1's approvals sent (this process carried those runs out itself)
    if harness.memory:
        harness.attempt(["B5"], harness.memory_peaks)
    return harness.results
