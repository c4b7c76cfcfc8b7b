"""Lists and details cost the same number of SQL queries with 10 services as with 1,000."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.catalog.models import Exposure, Hostname, Service, Telemetry, Traffic
from provisioning.choices import RunAction, RunStatus
from provisioning.models import ProvisioningRun
from provisioning.scopes import service_key

pytestmark = pytest.mark.django_db


def add_services(team, start: int, count: int) -> list[Service]:
    """``count`` services with their exposure, traffic, telemetry, a hostname and a finished run, in bulk."""
    services = Service.objects.bulk_create(Service(name=f"svc-{i:04d}", team=team) for i in range(start, start + count))
    exposures = Exposure.objects.bulk_create(Exposure(service=s, level="internal") for s in services)
    Hostname.objects.bulk_create(Hostname(exposure=e, fqdn=f"{e.service.name}.internal.example.com") for e in exposures)
    Traffic.objects.bulk_create(Traffic(service=s) for s in services)
    Telemetry.objects.bulk_create(Telemetry(service=s) for s in services)
    ProvisioningRun.objects.bulk_create(
        ProvisioningRun(scope=service_key(s.name), service=s, action=RunAction.APPLY, status=RunStatus.SUCCEEDED)
        for s in services
    )
    return services


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return len(queries)


@pytest.fixture
def measure(client_for, member, team, platform):
    """Query counts of the pages with 10 services, then with 1,000 (the measured service calls all the others)."""
    client = client_for(member)
    client.get(reverse("home"))  # the session and the user's team roles are warm for both measurements

    def run(urls: list[str]) -> tuple[list[int], list[int]]:
        services = add_services(team, 0, 10)
        focus = services[0]
        focus.traffic.allowed_callers.set(services[1:])
        small = [count_queries(client, url) for url in urls]
        more = add_services(team, 10, 990)
        focus.traffic.allowed_callers.add(*more)
        assert Service.objects.count() == 1000
        large = [count_queries(client, url) for url in urls]
        return small, large

    return run


def test_service_pages_query_counts_do_not_grow_with_services(measure):
    urls = [
        reverse("catalog:service_list"),
        reverse("catalog:service_list") + "?q=svc&exposure=internal",
        reverse("catalog:service_detail", args=["svc-0000"]),
        reverse("catalog:team_detail", args=["payments"]),
        reverse("home"),
    ]
    small, large = measure(urls)
    assert small == large, dict(zip(urls, zip(small, large, strict=True), strict=True))


def test_api_query_counts_do_not_grow_with_services(measure):
    urls = ["/api/v1/services/", "/api/v1/services/svc-0000/"]
    small, large = measure(urls)
    assert small == large, dict(zip(urls, zip(small, large, strict=True), strict=True))
