"""Every plan carries the wiring checks' findings on its scope; an apply with an error among them fails before
any write, listing them, as the schema preflight does. The defects are added to a real service's scope (the
renderers themselves are meant to produce none)."""

from dataclasses import replace

from provisioning.choices import RunAction, RunStatus
from provisioning.engine import Engine, service_scope
from provisioning.models import ManagedResource, ProvisioningRun, RunStep
from provisioning.operations import apply_service, plan_service
from provisioning.resources import k8s
from provisioning.runs.perform import attempt

from .conftest import register, run_task


def route(name: str, host: str, gateway: str = "mesh"):
    """A VirtualService in ledger's namespace sending ``host`` to ledger."""
    return k8s(
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": {"name": name, "namespace": "ledger"},
            "spec": {
                "hosts": [host],
                "gateways": [gateway],
                "http": [{"route": [{"destination": {"host": "ledger.ledger.svc.cluster.local"}}]}],
            },
        }
    )


def with_extra(engine: Engine, *resources):
    scope = service_scope("ledger", engine.platform)
    return replace(scope, desired=[*scope.desired, *resources])


def queued_apply(service) -> ProvisioningRun:
    return ProvisioningRun.objects.create(
        scope="service:ledger", service=service, action=RunAction.APPLY, status=RunStatus.PLANNING, attempts=1
    )


def test_a_plan_of_a_wired_service_has_no_findings(team, platform, gitops_repo):
    service = register(name="ledger", exposure={"level": "internal", "hostnames": ["ledger.internal.example.com"]})
    assert plan_service(service).findings == []
    run = run_task(apply_service(register(name="checkout")))
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.plan.findings == []


def test_an_error_fails_the_apply_before_any_write_and_lists_the_findings(team, platform, gitops_repo):
    service = register(name="ledger")
    engine = Engine()
    scope = with_extra(engine, route("ledger-public", "ledger.example.com", "istio-ingress/public"))
    run = queued_apply(service)
    attempt(run, engine, scope)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error.startswith("analysis: the desired state is not wired together:\n")
    assert (
        "PA001 VirtualService/ledger/ledger-public spec.gateways[0]: Gateway istio-ingress/public is not in the set"
        in run.error
    )
    assert not RunStep.objects.filter(run=run).exists()
    assert not ManagedResource.objects.exists()
    assert not list(gitops_repo.path.glob("*/*.yaml"))
    # The plan the run made shows the same finding.
    assert [(f["code"], f["severity"], f["object"]) for f in run.plan.findings] == [
        ("PA001", "error", "VirtualService/ledger/ledger-public")
    ]


def test_warnings_are_kept_with_the_plan_and_let_the_apply_go_on(team, platform, gitops_repo):
    service = register(name="ledger")
    engine = Engine()
    host = "ledger.ledger.svc.cluster.local"
    scope = with_extra(engine, route("ledger-again", host))
    run = queued_apply(service)
    attempt(run, engine, scope)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert {(f["code"], f["severity"], f["object"]) for f in run.plan.findings} == {
        ("PA011", "warning", "VirtualService/ledger/ledger"),
        ("PA011", "warning", "VirtualService/ledger/ledger-again"),
    }
    warnings = run.log_entries.get(event="provisioning.analysis.warnings")
    assert warnings.level == "warning" and "PA011 VirtualService/ledger/ledger-again spec.hosts[0]" in warnings.message
