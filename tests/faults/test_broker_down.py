"""Redis (the broker) down: edits are accepted, nothing is lost, the run starts when the broker is back.

Web, worker and beat run as separate processes on a redis-server of the test's own, which the test kills
and starts again, as an outage would.
"""

import shutil
import socket
import subprocess
import time

import pytest
import requests
from rest_framework.authtoken.models import Token

from portal.catalog.models import Membership, PlatformSettings, Team
from portal.users.models import User
from provisioning.choices import RunStatus
from provisioning.models import ProvisioningRun
from tests.worker.fixtures import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A real redis-server of the test's own, so stopping it disturbs nothing else."""

    def __init__(self, port: int, directory):
        self.port, self.directory, self.process = port, directory, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def redis_server(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (Debian package redis-server)")
    server = RedisServer(free_port(), tmp_path)
    server.start()
    yield server
    server.stop()


def test_edits_survive_a_broker_outage_and_the_run_starts_when_it_is_back(
    redis_server, start_process, start_worker, worker_env, settings, tmp_path
):
    settings.PORTAL_GITOPS_DIR = tmp_path / "gitops"
    PlatformSettings.load()
    team = Team.objects.create(slug="payments", name="Payments")
    user = User.objects.create(username="alice")
    Membership.objects.create(team=team, user=user, role="owner")
    token = Token.objects.create(user=user).key

    env = {
        **worker_env,
        "REDIS_URL": redis_server.url,
        "PORTAL_GITOPS_DIR": str(settings.PORTAL_GITOPS_DIR),
        "PORTAL_RUN_REQUEUE_SECONDS": "2",
        "PORTAL_REAP_INTERVAL_SECONDS": "1",
    }
    port = free_port()
    start_process("web", ["manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"], "Quit the server", env)
    web = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Token {token}"}

    redis_server.stop()
    health = requests.get(f"{web}/healthz", timeout=10)
    assert health.status_code == 503 and health.json()["failing"] == ["broker"]

    created = requests.post(
        f"{web}/api/v1/services/", json={"name": "ledger", "team": "payments"}, headers=headers, timeout=30
    )
    assert created.status_code == 201, created.text
    edited = requests.patch(
        f"{web}/api/v1/services/ledger/",
        json={"description": "written while Redis was down"},
        headers=headers,
        timeout=30,
    )
    assert edited.status_code == 200, edited.text
    applied = requests.post(f"{web}/api/v1/services/ledger/apply/", json={}, headers=headers, timeout=30)
    assert applied.status_code == 202, applied.text
    run = ProvisioningRun.objects.get(pk=applied.json()["id"])
    assert run.status == RunStatus.QUEUED
    assert run.log_entries.filter(event="provisioning.run.enqueue_failed").exists()

    redis_server.start()
    assert requests.get(f"{web}/healthz", timeout=10).status_code == 200
    worker = start_worker(env=env)
    # celery beat runs the reaper, which sends the run the broker never took.
    start_process(
        "beat",
        ["-m", "celery", "-A", "portal", "beat", "--loglevel", "INFO", "--schedule", str(tmp_path / "beat-schedule")],
        "beat: Starting",
        env,
    )
    wait_for(
        lambda: ProvisioningRun.objects.get(pk=run.pk).status in (RunStatus.SUCCEEDED, RunStatus.FAILED),
        90,
        "the run to finish",
        worker,
    )
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.log_entries.filter(event="provisioning.run.started").exists()
    assert (tmp_path / "gitops" / "ledger" / "destinationrule-ledger.yaml").exists()
