"""A real Celery worker process, on Redis when REDIS_URL is set (CI), else the file-system broker."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection

from portal.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The test database (pytest-django's), as a URL the worker understands."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


class Worker:
    def __init__(self, process: subprocess.Popen, log: Path):
        self.process = process
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the worker and its pool children: no chance to clean up or acknowledge."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


@pytest.fixture
def worker_env(settings, tmp_path, aws) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        {
            "AWS_ENDPOINT_URL": aws.url,  # the services' AWS half goes to this session's sandbox
            "DJANGO_SETTINGS_MODULE": "portal.settings.test",
            "DATABASE_URL": database_url(),
            "PORTAL_BROKER_DIR": str(settings.CELERY_BROKER_DIR),
            "PORTAL_GITOPS_DIR": str(settings.PORTAL_GITOPS_DIR),
            "PORTAL_KUBECONFIG": str(settings.PORTAL_KUBECONFIG or ""),
            "PORTAL_CRD_DIR": str(settings.PORTAL_CRD_DIR),
            "PORTAL_RUN_LEASE_SECONDS": str(settings.PORTAL_RUN_LEASE_SECONDS),
            "PORTAL_RUN_MAX_ATTEMPTS": str(settings.PORTAL_RUN_MAX_ATTEMPTS),
            "PORTAL_BROKER_VISIBILITY_TIMEOUT": "5",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@pytest.fixture
def start_process(worker_env, tmp_path) -> Iterator[Callable[..., Worker]]:
    """Start portal processes (worker, beat, web) on demand, with ``worker_env``; all stop with the test."""
    started: list[Worker] = []

    def start(name: str, argv: list[str], ready: str, env: dict[str, str] | None = None) -> Worker:
        log = tmp_path / f"{name}.log"
        process = subprocess.Popen(
            [sys.executable, *argv],
            cwd=ROOT,
            env=env or worker_env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        handle = Worker(process, log)
        started.append(handle)
        deadline = time.monotonic() + 60
        while ready not in handle.output():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start:\n{handle.output()}")
            time.sleep(0.2)
        return handle

    yield start
    for handle in started:
        handle.stop()


WORKER_ARGS = ["--without-gossip", "--without-mingle", "--without-heartbeat", "--pool", "prefork"]


@pytest.fixture
def start_worker(start_process) -> Callable[..., Worker]:
    """Start Celery worker processes on demand (queue purged first)."""
    celery_app.control.purge()

    def start(name: str = "w1", concurrency: int = 1, env: dict[str, str] | None = None) -> Worker:
        argv = [
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            str(concurrency),
            "--hostname",
            f"{name}@%h",
            *WORKER_ARGS,
        ]
        return start_process(f"worker-{name}", argv, "ready.", env)

    return start


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, worker: Worker | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            detail = f"\n--- worker log ---\n{worker.output()[-6000:]}" if worker else ""
            raise AssertionError(f"timed out waiting for {what}{detail}")
        time.sleep(0.2)
