"""The real components a benchmark run talks to, each in its own process, and their peak memory."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.request import urlopen

import psycopg

from .config import ROOT, database_url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)


def http_ok(url: str) -> bool:
    with urlopen(url, timeout=2) as response:  # noqa: S310 - loopback URLs the harness built
        return response.status < 500


class Process:
    """A child process in its own session (so its pool children stop with it), output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path):
        self.name = name
        self.log = log_dir / f"{name}.log"
        self.popen = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_output(self, text: str, timeout: float = 60) -> None:
        def ready() -> bool:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.output()[-4000:]}")
            return text in self.output()

        wait_until(ready, timeout, f"{self.name} to start")

    def peak_rss_mb(self) -> dict[int, float]:
        """Peak resident memory (VmHWM) of the process and each of its descendants, by pid."""
        return {pid: peak for pid in [self.pid, *descendants(self.pid)] if (peak := vm_hwm_mb(pid)) is not None}

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)


def descendants(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children += [int(c) for c in task.read_text().split()]
        except OSError:
            continue
    return children + [d for c in children for d in descendants(c)]


def vm_hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def own_peak_rss_mb() -> float:
    return vm_hwm_mb(os.getpid()) or 0.0


# --- the servers ---------------------------------------------------------------------------------------------------


def start_moto(env: dict[str, str], log_dir: Path) -> tuple[Process, str]:
    """moto's server: the AWS sandbox (certificates validate at once; no default AMIs)."""
    port = free_port()
    env = {**env, "MOTO_ACM_VALIDATION_WAIT": "0", "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}
    process = Process("moto", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env, log_dir)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: http_ok(f"{url}/moto-api/"), 60, "moto's server")
    return process, url


def start_kubernetes_double(env: dict[str, str], log_dir: Path, name: str = "k8s-double") -> tuple[Process, str]:
    """The Kubernetes API double over HTTP, as a process of its own (the cluster target)."""
    port = free_port()
    argv = [sys.executable, "-m", "tests.k8sdouble.server", "--port", str(port)]
    process = Process(name, argv, env, log_dir)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: http_ok(f"{url}/version"), 60, "the Kubernetes API double")
    return process, url


def write_kubeconfig(url: str, path: Path) -> Path:
    from tests.k8sdouble.fixtures import write_kubeconfig as write

    return write(url, path)


def start_worker(env: dict[str, str], log_dir: Path, concurrency: int) -> Process:
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "bench.workerapp",
        "worker",
        "--loglevel",
        "WARNING",
        "--concurrency",
        str(concurrency),
        "--pool",
        "prefork",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--hostname",
        "bench@%h",
    ]
    process = Process("worker", argv, {**env, "BENCH_WORKER": "1"}, log_dir)
    wait_until(lambda: len(descendants(process.pid)) >= concurrency, 60, "the worker's pool")
    _wait_broker_ready(process)
    return process


def _wait_broker_ready(process: Process) -> None:
    from .workerapp import app

    def answered() -> bool:
        if process.popen.poll() is not None:
            raise RuntimeError(f"the worker exited:\n{process.output()[-4000:]}")
        return bool(app.control.ping(timeout=0.5))

    wait_until(answered, 60, "the worker to answer")


def start_gunicorn(env: dict[str, str], log_dir: Path, workers: int) -> tuple[Process, str]:
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "portal.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
    ]
    process = Process("gunicorn", argv, env, log_dir)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: http_ok(f"{url}/healthz"), 60, "gunicorn")
    wait_until(lambda: len(descendants(process.pid)) >= workers, 30, "gunicorn's workers")
    return process, url


# --- the database ------------------------------------------------------------------------------------------------


def admin_connection() -> psycopg.Connection:
    return psycopg.connect(database_url("postgres"), autocommit=True)


def recreate_database(name: str) -> None:
    with admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    with admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
