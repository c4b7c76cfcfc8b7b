"""The platform layer's plan waits for a second SRE; the approvals queue, run and plan pages show it."""

import io

from django.core.management import call_command

from portal.users.models import User
from provisioning.operations import apply_platform, approve_run
from tests.engine.conftest import run_task


def test_a_platform_change_waits_for_a_second_sre_and_shows_on_the_pages(platform, client, settings, tmp_path):
    settings.PORTAL_GITOPS_DIR = tmp_path / "gitops"
    call_command("prepare_sandbox", stdout=io.StringIO())  # the network the platform's AWS pieces go in
    requester = User.objects.create(username="sam", is_sre=True)
    run = apply_platform(requester)
    assert run.status == "awaiting_approval"
    assert run.plan.summary["create"] > 0

    approver = User.objects.create(username="sue", is_sre=True)
    client.force_login(approver)
    queue = client.get("/approvals/")
    assert queue.status_code == 200 and "platform" in queue.content.decode()
    assert client.get(f"/runs/{run.pk}/").status_code == 200
    assert client.get(f"/plans/{run.plan.pk}/").status_code == 200

    run = run_task(approve_run(run, approver))
    assert run.status == "succeeded", run.error
    assert (tmp_path / "gitops" / "istio-ingress" / "gateway-external-gateway.yaml").exists()
