"""An AWS throttling storm: the portal backs off and the run completes, with nothing created twice."""

import pytest

from provisioning.choices import RunStatus
from tests.aws.sandbox import FaultProxy

from .conftest import apply, certificates, expose, zone_records

pytestmark = pytest.mark.faults


@pytest.fixture
def storm_proxy(aws, bootstrapped, monkeypatch):
    proxy = FaultProxy(upstream=aws.url).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)  # the portal reaches AWS through the proxy
    yield proxy
    proxy.stop()


def test_the_run_completes_through_a_throttling_storm(storm_proxy, bootstrapped, team, sre, settings, sandbox_client):
    settings.PORTAL_AWS_MAX_ATTEMPTS = 4
    storm = storm_proxy.storm(every=2, times=30)  # every other JSON-protocol call is throttled
    service = expose(
        "shop", "external", ["shop.example.com", "www.shop.example.com"], telemetry={"log_retention_days": 14}
    )
    run = apply(service, sre)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert storm.sent >= 10, "the storm actually hit the run"
    acm = sandbox_client("acm")
    assert len(certificates(acm, "shop.example.com")) == 1
    assert len(certificates(acm, "www.shop.example.com")) == 1
    logs = sandbox_client("logs").describe_log_groups(logGroupNamePrefix="/eks/sandbox/payments/shop")["logGroups"]
    assert [(g["logGroupName"], g.get("retentionInDays")) for g in logs] == [("/eks/sandbox/payments/shop", 14)]
    records = zone_records(sandbox_client("route53"), bootstrapped.external_zone_id)
    assert ("shop.example.com", "A") in records and ("www.shop.example.com", "A") in records
