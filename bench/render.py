"""B3: the desired state of N services built on one core (pure builders, no I/O)."""

import gc
import os
import time

from django.utils import timezone

from .internals import PlatformSettings, platform_snapshot, render_service, service_queryset, service_snapshot


def run(names: list[str]) -> dict:
    row = PlatformSettings.load()
    platform = platform_snapshot(row)
    at = timezone.now()
    started = time.perf_counter()
    snapshots = [service_snapshot(s, at=at, settings_row=row) for s in service_queryset().filter(name__in=names)]
    snapshot_seconds = time.perf_counter() - started

    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(previous)})  # one core
    gc.collect()
    try:
        started = time.process_time(), time.perf_counter()
        resources = sum(len(render_service(svc, platform)) for svc in snapshots)
        cpu, wall = time.process_time() - started[0], time.perf_counter() - started[1]
    finally:
        os.sched_setaffinity(0, previous)
    return {
        "services": len(snapshots),
        "resources": resources,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "services_per_s": round(len(snapshots) / wall, 1),
        "snapshot_s": round(snapshot_seconds, 3),
        "note": "render_service() on frozen snapshots, pinned to one CPU; snapshot_s is reading them from "
        "PostgreSQL beforehand (not part of the rate)",
    }
