"""The portal's Celery app with the benchmark's measuring hooks: each pool process times and counts its AWS calls
(botocore events on the portal's session) and writes the totals to ``$BENCH_COUNTS_DIR/<pid>.json`` after each
task. The tasks themselves are the portal's, unchanged.

    celery -A bench.workerapp worker ...
"""

import json
import os
from pathlib import Path

from celery.signals import task_postrun, worker_process_init

from portal.celery import app

from .instrument import AwsTimer

__all__ = ["app"]

# A run's own queue: another run (or the test suite) on the same Redis never takes its tasks.
app.conf.task_default_queue = os.environ.get("BENCH_QUEUE", "bench")

TIMER = AwsTimer()


@worker_process_init.connect
def _install(**kwargs) -> None:
    from .internals import aws_session, is_write  # models load once the worker has set Django up

    TIMER.install(aws_session(), is_write)


@task_postrun.connect
def _dump(**kwargs) -> None:
    folder = os.environ.get("BENCH_COUNTS_DIR")
    if not folder:
        return
    clock = TIMER.clock
    path = Path(folder) / f"{os.getpid()}.json"
    payload = {"reads": clock.reads, "writes": clock.writes, "seconds": clock.seconds, "operations": clock.operations}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload))
    tmp.replace(path)
