"""No duplicates after retries, kills or concurrent runs: look up by name and tags first, then idempotency tokens."""

from provisioning.apply.aws.acm import requested
from provisioning.aws.kinds import CERTIFICATE
from provisioning.choices import RunStatus
from provisioning.engine import Engine, service_scope
from provisioning.models import ManagedResource
from provisioning.names import service_tags
from provisioning.observed.aws.acm import find_certificates, service_identity
from provisioning.scopes import PLATFORM_KEY
from provisioning.targets import AwsBackend

from .conftest import apply, certificates, expose, tagged

HOSTS = ["pay.example.com", "api.pay.example.com"]


def counts(sandbox_client) -> dict[str, int]:
    """How many of each resource the service has in the sandbox."""
    return {
        "certificates": len([c for c in certificates(sandbox_client("acm")) if c["DomainName"] in HOSTS]),
        # The service's groups: the platform's own (/eks/<cluster>/platform/...) are the platform scope's.
        "log groups": len(
            sandbox_client("logs").describe_log_groups(logGroupNamePrefix="/eks/sandbox/payments/")["logGroups"]
        ),
        "alarms": len(sandbox_client("cloudwatch").describe_alarms()["MetricAlarms"]),
        "topics": len(sandbox_client("sns").list_topics()["Topics"]),
        "tagged": len(tagged(sandbox_client("resourcegroupstaggingapi"), {"portal:service": "payments-api"})),
    }


def test_a_create_repeated_after_the_record_was_lost_finds_what_exists(bootstrapped, team, sre, sandbox_client):
    """As if the worker died after AWS created everything but before the inventory was written."""
    service = expose("payments-api", "external", HOSTS)
    assert apply(service, sre).status == RunStatus.SUCCEEDED
    before = counts(sandbox_client)
    assert before == {"certificates": 2, "log groups": 1, "alarms": 1, "topics": 1, "tagged": 4}
    theirs = ManagedResource.objects.filter(provider="aws").exclude(scope=PLATFORM_KEY)
    theirs.delete()

    run = apply(service, sre)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.steps.count() == 0, "found by name and tags: nothing to create"
    assert counts(sandbox_client) == before
    assert theirs.count() == 8


def test_a_certificate_requested_by_a_worker_that_then_died_is_reused(bootstrapped, team, sre, sandbox_client):
    """The first attempt got as far as RequestCertificate; the rerun picks that certificate up by its tags."""
    service = expose("payments-api", "external", HOSTS)
    backend = AwsBackend(Engine().platform)
    tags = service_tags("payments", "payments-api")
    arn = requested(backend.ctx, "pay.example.com", tags, seed="first attempt")["CertificateArn"]
    run = apply(service, sre)
    assert run.status == RunStatus.SUCCEEDED, run.error
    certs = [c for c in certificates(sandbox_client("acm")) if c["DomainName"] == "pay.example.com"]
    assert [c["CertificateArn"] for c in certs] == [arn]


def test_two_workers_past_the_lookup_get_one_certificate_by_the_idempotency_token(bootstrapped, team, sandbox_client):
    """Both looked (nothing there yet), then both request: the token derived from the resource makes it one."""
    service = expose("payments-api", "external", HOSTS)
    engine = Engine()
    (resource,) = [
        r for r in service_scope(service.name, engine.platform).desired if r.kind == CERTIFICATE and r.name == HOSTS[0]
    ]
    workers = [AwsBackend(engine.platform), AwsBackend(engine.platform)]
    identity = service_identity("payments-api")
    assert [find_certificates(w.ctx, {HOSTS[0]}, identity) for w in workers] == [[], []]
    seed = f"{resource.key}|{resource.digest}"
    arns = [requested(w.ctx, HOSTS[0], resource.body["tags"], seed)["CertificateArn"] for w in workers]
    assert arns[0] == arns[1]
    assert len([c for c in certificates(sandbox_client("acm")) if c["DomainName"] == HOSTS[0]]) == 1
    # Either worker then finishes the certificate (validation record, listener) without a second one.
    for worker in workers:
        worker.apply(resource)
    assert len([c for c in certificates(sandbox_client("acm")) if c["DomainName"] == HOSTS[0]]) == 1


def test_apply_and_delete_can_be_repeated(bootstrapped, team, sre):
    """Every handler converges from any state: applying twice or deleting what is already gone is fine."""
    service = expose("payments-api", "external", HOSTS)
    engine = Engine()
    desired = [r for r in service_scope(service.name, engine.platform).desired if r.provider == "aws"]
    backend = AwsBackend(engine.platform)
    for resource in desired + desired:
        backend.apply(resource)
    writes = backend.writes
    for resource in desired:
        backend.apply(resource)
    assert backend.writes == writes, "a third apply found everything in place"
    for resource in reversed(desired + desired):
        backend.delete(resource)
    observed, existing = backend.observe([], {"portal.io/service": "payments-api"}, desired, desired)
    assert existing == [] and set(observed.values()) == {None}
