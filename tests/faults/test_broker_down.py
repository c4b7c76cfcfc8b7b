"""Redis (the broker) down: edits are accepted, nothing is lost, the run starts when the broker is back."""

import shutil
import socket
import subprocess
import time

import pytest
from rest_framework.test import APIClient

from portal.catalog.models import Membership, PlatformSettings, Service, Team
from portal.celery import app as celery_app
from portal.users.models import User
from provisioning.choices import RunStatus
from provisioning.models import ProvisioningRun
from provisioning.runs import reap
from tests.worker.conftest import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]


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
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)],
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
def redis_broker(settings, tmp_path, worker_env):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(free_port(), tmp_path)
    server.start()
    previous = (celery_app.conf.broker_url, dict(celery_app.conf.broker_transport_options or {}))
    celery_app.conf.broker_url = server.url
    celery_app.conf.broker_transport_options = {"visibility_timeout": 5}
    worker_env["REDIS_URL"] = server.url
    settings.PORTAL_RUN_REQUEUE_SECONDS = 1
    yield server
    server.stop()
    celery_app.conf.broker_url, celery_app.conf.broker_transport_options = previous
    celery_app.pool.force_close_all()


def test_edits_survive_a_broker_outage_and_the_run_starts_when_it_is_back(
    redis_broker, start_worker, settings, tmp_path, client
):
    settings.PORTAL_GITOPS_DIR = tmp_path / "gitops"
    PlatformSettings.load()
    team = Team.objects.create(slug="payments", name="Payments")
    user = User.objects.create(username="alice")
    Membership.objects.create(team=team, user=user, role="owner")
    api = APIClient()
    api.force_authenticate(user)

    redis_broker.stop()
    celery_app.pool.force_close_all()
    assert client.get("/healthz").json()["failing"] == ["broker"]

    created = api.post("/api/v1/services/", {"name": "ledger", "team": "payments"}, format="json")
    assert created.status_code == 201, created.content
    edited = api.patch("/api/v1/services/ledger/", {"description": "written while Redis was down"}, format="json")
    assert edited.status_code == 200
    applied = api.post("/api/v1/services/ledger/apply/", {}, format="json")
    assert applied.status_code == 202
    run = ProvisioningRun.objects.get(pk=applied.json()["id"])
    assert run.status == RunStatus.QUEUED
    assert run.log_entries.filter(event="provisioning.run.enqueue_failed").exists()
    assert Service.objects.get(name="ledger").description == "written while Redis was down"

    redis_broker.start()
    celery_app.pool.force_close_all()
    worker = start_worker()
    time.sleep(1.1)  # older than PORTAL_RUN_REQUEUE_SECONDS: the reaper (celery beat) sends it again
    assert reap()["resent"] == 1
    wait_for(lambda: ProvisioningRun.objects.get(pk=run.pk).status in (RunStatus.SUCCEEDED, RunStatus.FAILED),
             60, "the run to finish", worker)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
