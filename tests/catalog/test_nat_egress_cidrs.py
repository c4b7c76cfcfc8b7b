"""The NAT gateways' egress CIDRs are a platform setting beside the corp CIDRs: IPv4 blocks, checked naming the
field, and nothing is half-written when one is wrong."""

import pytest
from rest_framework.test import APIClient

from portal.catalog.models import PlatformSettings
from portal.users.models import User


@pytest.fixture
def sre(db) -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.create(username="sre", is_sre=True))
    return client


def test_nat_egress_cidrs_are_saved_and_read_back(sre):
    response = sre.patch("/api/v1/platform/settings/", {"nat_egress_cidrs": ["198.51.100.7/32"]}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["nat_egress_cidrs"] == ["198.51.100.7/32"]
    assert PlatformSettings.load().nat_egress_cidrs == ["198.51.100.7/32"]


@pytest.mark.parametrize("value", [["2001:db8::/64"], ["198.51.100.7/24"], ["not-a-cidr"], "198.51.100.7/32"])
def test_bad_nat_egress_cidrs_are_refused_naming_the_field(sre, value):
    response = sre.patch(
        "/api/v1/platform/settings/",
        {"nat_egress_cidrs": value, "corp_cidrs": ["192.0.2.0/24"]},
        format="json",
    )
    assert response.status_code == 400
    assert "nat_egress_cidrs" in response.json()
    row = PlatformSettings.load()
    assert row.nat_egress_cidrs == [] and row.corp_cidrs == ["203.0.113.0/24"]
