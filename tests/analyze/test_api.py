"""``GET /api/v1/services/{name}/analysis/`` (anyone who may read the service) and ``GET /api/v1/analysis/``
(SREs: the whole desired state), and the panel of the service page."""

import pytest
from rest_framework.test import APIClient

from portal.catalog.models import Membership
from portal.users.models import User
from provisioning.aws.kinds import LISTENER, TARGET_GROUP
from provisioning.desired.platform import render_platform
from provisioning.snapshot import platform_snapshot
from tests.platform.samples import PLATFORM

from .test_desired_state import outputs_of, record, replaced

FIELDS = ["code", "severity", "object", "path", "message"]


@pytest.fixture
def people(team):
    member = User.objects.create(username="alice")
    Membership.objects.create(team=team, user=member, role="member")
    return member, User.objects.create(username="sre", is_sre=True), User.objects.create(username="bob")


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def ledger(platform, people):
    response = client_for(people[0]).post(
        "/api/v1/services/",
        {
            "team": "payments",
            "name": "ledger",
            "exposure": {"level": "internal", "hostnames": ["ledger.internal.example.com"]},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()


def half_recorded_platform() -> None:
    """The inventory knows the target groups and listeners, not the ALBs' DNS names: the gateways are bound to the
    ALBs, but the service's record points at no ALB."""
    fresh = platform_snapshot()
    for (kind, name), outputs in outputs_of(PLATFORM).items():
        if kind in (TARGET_GROUP, LISTENER):
            piece = next(r for r in render_platform(fresh) if (r.kind, r.name) == (kind, replaced(name, fresh)))
            record(piece, outputs)


def test_a_wired_service_has_no_findings(ledger, people):
    for user in people:
        response = client_for(user).get("/api/v1/services/ledger/analysis/")
        assert response.status_code == 200
        assert response.json() == {"findings": []}


def test_the_services_findings_name_its_defects(ledger, people):
    half_recorded_platform()
    response = client_for(people[2]).get("/api/v1/services/ledger/analysis/")
    findings = response.json()["findings"]
    assert [list(f) for f in findings] == [FIELDS]
    assert findings[0]["code"] == "PA101" and findings[0]["severity"] == "error"
    assert findings[0]["object"] == "VirtualService/ledger/ledger"
    assert (
        "host ledger.internal.example.com is served on ALB internal/portal-internal-sandbox" in findings[0]["message"]
    )


def test_the_platform_wide_analysis_is_for_sres(ledger, people):
    member, sre, other = people
    for user in (member, other):
        assert client_for(user).get("/api/v1/analysis/").status_code == 403
    half_recorded_platform()
    findings = client_for(sre).get("/api/v1/analysis/").json()["findings"]
    assert findings and all(list(f) == FIELDS for f in findings)
    assert ("PA101", "VirtualService/ledger/ledger") in {(f["code"], f["object"]) for f in findings}


def test_a_missing_service_is_404(platform, people):
    assert client_for(people[0]).get("/api/v1/services/nowhere/analysis/").status_code == 404


def test_the_service_page_shows_the_findings(ledger, people, client):
    client.force_login(people[2])
    page = client.get("/services/ledger/").content.decode()
    assert "Wiring checks (0)" in page and "No findings" in page
    half_recorded_platform()
    page = client.get("/services/ledger/").content.decode()
    assert "Wiring checks (1)" in page
    assert "<code>PA101</code>" in page and "VirtualService/ledger/ledger" in page
