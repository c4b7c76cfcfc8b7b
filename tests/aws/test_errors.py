"""Throttling and 5xx are temporary (backoff with jitter, then the run retries); access denied and validation
errors are permanent, with the AWS error code in the step and the run log. Faults come from a real HTTP proxy
in front of the sandbox."""

import pytest

from provisioning.aws.kinds import RECORD
from provisioning.choices import RunStatus
from provisioning.engine import Engine, service_scope
from provisioning.errors import PermanentError, TemporaryError
from provisioning.operations import apply_service
from provisioning.targets import AwsBackend
from tests.aws.sandbox import FaultProxy
from tests.engine.conftest import register, run_task

from .conftest import apply

CREATE_LOG_GROUP = "Logs_20140328.CreateLogGroup"


@pytest.fixture
def proxy(aws, monkeypatch):
    """The portal talks to the sandbox through the proxy for this test."""
    proxy = FaultProxy(upstream=aws.url).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    yield proxy
    proxy.stop()


def test_throttling_is_retried_with_backoff_inside_the_call(proxy, team, settings):
    settings.PORTAL_AWS_MAX_ATTEMPTS = 3
    throttled = proxy.fail(CREATE_LOG_GROUP, times=2, code="ThrottlingException")
    run = run_task(apply_service(register(name="ledger")))
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert throttled.sent == 2
    assert run.attempts == 1


def test_throttling_beyond_the_call_retries_makes_the_run_try_again(proxy, team, settings):
    settings.PORTAL_AWS_MAX_ATTEMPTS = 2
    settings.PORTAL_RUN_MAX_ATTEMPTS = 3
    throttled = proxy.fail(CREATE_LOG_GROUP, times=2, code="ThrottlingException")
    run = run_task(apply_service(register(name="ledger")))
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert throttled.sent == 2
    assert run.attempts == 2
    (retry,) = run.log_entries.filter(event="provisioning.run.retrying")
    assert "ThrottlingException" in retry.message
    (failed,) = run.log_entries.filter(event="provisioning.step.failed")
    assert failed.extra["code"] == "ThrottlingException" and failed.extra["key"].endswith(
        "/eks/sandbox/payments/ledger"
    )


def test_a_5xx_that_does_not_go_away_fails_the_run_as_temporary_after_its_attempts(proxy, team, settings):
    settings.PORTAL_AWS_MAX_ATTEMPTS = 2
    settings.PORTAL_RUN_MAX_ATTEMPTS = 2
    unavailable = proxy.fail(CREATE_LOG_GROUP, times=100, status=503, code="ServiceUnavailableException")
    run = run_task(apply_service(register(name="ledger")))
    assert run.status == RunStatus.FAILED
    assert run.attempts == 2 and unavailable.sent == 4
    assert "gave up after 2 attempts" in run.error and "ServiceUnavailableException" in run.error
    step = run.steps.get(kind="logs.LogGroup")
    assert (step.status, step.error_code) == ("failed", "ServiceUnavailableException")


def test_access_denied_is_permanent_with_the_code_in_the_step_and_the_log(proxy, team, settings):
    denied = proxy.fail(CREATE_LOG_GROUP, times=100, code="AccessDeniedException")
    run = run_task(apply_service(register(name="ledger")))
    assert run.status == RunStatus.FAILED
    assert run.attempts == 1 and denied.sent == 1, "not retried"
    step = run.steps.get(kind="logs.LogGroup")
    assert (step.status, step.error_code) == ("failed", "AccessDeniedException")
    assert "CreateLogGroup failed with AccessDeniedException" in step.error
    (failed,) = run.log_entries.filter(event="provisioning.step.failed")
    assert failed.extra["code"] == "AccessDeniedException" and "AccessDeniedException" in failed.message


def test_an_error_the_sandbox_itself_returns_is_classified_by_its_code(bootstrapped, team):
    """No fault injected: Route53 refuses a record in a zone that does not exist."""
    service = register(name="ledger", exposure={"level": "internal", "hostnames": ["ledger.internal.example.com"]})
    engine = Engine()
    (record,) = [r for r in service_scope(service.name, engine.platform).desired if r.kind == RECORD]
    missing_zone = type(record)(**{**record.__dict__, "namespace": "Z0000000000000000000"})
    with pytest.raises(PermanentError) as failure:
        AwsBackend(engine.platform).apply(missing_zone)
    assert failure.value.code == "NoSuchHostedZone"
    # Reading a gone zone finds no records (its records are missing, to create in the zone the platform has now);
    # writing into it is what fails.
    assert "ChangeResourceRecordSets failed with NoSuchHostedZone" in str(failure.value)


def test_an_unreachable_endpoint_is_temporary(aws, team, settings, monkeypatch):
    settings.PORTAL_AWS_MAX_ATTEMPTS = 1
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    service = register(name="ledger")
    engine = Engine()
    scope = service_scope(service.name, engine.platform)
    with pytest.raises(TemporaryError) as failure:
        engine.backends["aws"].observe([], scope.labels, scope.desired, [])
    assert failure.value.code == "EndpointConnectionError"


def test_an_exposed_service_before_bootstrap_fails_with_a_clear_message(aws, team, sre):
    service = register(name="ledger", exposure={"level": "internal", "hostnames": ["ledger.internal.example.com"]})
    run = apply(service, sre)
    assert run.status == RunStatus.FAILED and run.attempts == 1
    step = run.steps.get(status="failed")
    assert step.error_code == "PlatformNotBootstrapped" and "manage.py bootstrap" in step.error
