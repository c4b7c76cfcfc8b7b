"""The AWS sandbox started again empty (or a zone, an ALB deleted by hand): what the inventory names is gone, and a
service applied before is planned as creates in the parents the platform has now, never an error."""

import io

from portal.catalog.management.commands.start_local import Command as StartLocal
from provisioning.choices import RunStatus
from provisioning.models import ProvisioningRun
from provisioning.operations import bootstrap_platform, plan_service
from provisioning.snapshot import platform_snapshot

from .conftest import apply, expose, prepare_sandbox, run_task, zone_records

HOSTS = ["pay.example.com"]


def test_a_service_applied_before_the_sandbox_restarted_is_recreated_in_the_new_parents(
    bootstrapped, platform, team, sre, sandbox_client, aws
):
    service = expose("payments-api", "external", HOSTS)
    assert apply(service, sre).status == RunStatus.SUCCEEDED
    old_zone = bootstrapped.external_zone_id

    aws.reset()  # moto started again: every zone, ALB and certificate is gone
    prepare_sandbox(platform)
    bootstrap_platform(wait_seconds=10)
    new_zone = platform_snapshot().external_zone_id
    assert new_zone and new_zone != old_zone

    plan = plan_service(service)
    created = {(c["kind"], c["namespace"]) for c in plan.changes if c["action"] == "create"}
    assert ("route53.Record", new_zone) in created
    run = apply(service, sre, plan=plan)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert ("pay.example.com", "A") in zone_records(sandbox_client("route53"), new_zone)


def test_a_service_whose_zone_is_gone_plans_without_an_error(bootstrapped, team, sre, aws):
    service = expose("payments-api", "external", HOSTS)
    assert apply(service, sre).status == RunStatus.SUCCEEDED
    aws.reset()
    plan = plan_service(service)
    assert plan.summary["create"] > 0


def test_make_run_applies_again_every_service_the_sandbox_had(bootstrapped, platform, team, sre, sandbox_client, aws):
    """A second `make run` starts an empty sandbox: after bootstrapping it, `start_local` applies again every
    service that had AWS resources, so they are served as they were left."""
    service = expose("payments-api", "external", HOSTS)
    assert apply(service, sre).status == RunStatus.SUCCEEDED
    aws.reset()
    prepare_sandbox(platform)
    bootstrap_platform(wait_seconds=10)

    command = StartLocal(stdout=io.StringIO(), stderr=io.StringIO())
    assert command.readopt_services() == ["payments-api"]
    run = ProvisioningRun.objects.filter(scope="service:payments-api").order_by("-pk").first()
    assert run.status == RunStatus.QUEUED, "applied as it was: no approval asked again"
    assert run_task(run).status == RunStatus.SUCCEEDED
    new_zone = platform_snapshot().external_zone_id
    assert ("pay.example.com", "A") in zone_records(sandbox_client("route53"), new_zone)
