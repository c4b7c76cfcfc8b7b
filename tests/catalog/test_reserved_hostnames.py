"""The platform's own hostnames (its zones' apexes, OAuth2 Proxy's sign-in, Grafana, the SRE consoles) and the
platform's list of reserved hostnames: anyone but an SRE gets a 400 naming the field and saying why, and nothing
is written; the hosts the platform itself serves (sign-in, consoles) no service may take, an SRE's neither."""

import pytest
from rest_framework.test import APIClient

from portal.catalog.models import Membership, Service
from portal.users.models import User
from provisioning.spec import PlatformSpec, reserved_hostnames

RESERVED = [
    ("internal", "internal.example.com", "apex of the platform's internal zone"),
    ("external", "example.com", "apex of the platform's external zone"),
    ("internal", "oauth2-proxy.internal.example.com", "OAuth2 Proxy's sign-in address"),
    ("internal", "grafana.internal.example.com", "Grafana's address"),
    ("internal", "prometheus.internal.example.com", "prometheus console"),
    ("internal", "alertmanager.internal.example.com", "alertmanager console"),
    ("internal", "kiali.internal.example.com", "kiali console"),
    ("internal", "portal.internal.example.com", "platform's list of reserved hostnames"),
]
# What the platform itself serves: its records and certificates are the platform's.
SERVED = {
    "oauth2-proxy.internal.example.com",
    "grafana.internal.example.com",
    "prometheus.internal.example.com",
    "alertmanager.internal.example.com",
    "kiali.internal.example.com",
}


@pytest.fixture
def platform_with_list(platform):
    platform.reserved_hostnames = ["portal.internal.example.com"]
    platform.save()
    return platform


def client_of(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def member(team):
    user = User.objects.create(username="alice")
    Membership.objects.create(team=team, user=user, role="owner")
    return user


@pytest.mark.parametrize(("level", "host", "why"), RESERVED)
def test_a_team_member_cannot_claim_a_reserved_hostname(member, platform_with_list, level, host, why):
    body = {"name": "grab", "team": "payments", "exposure": {"level": level, "hostnames": [host]}}
    response = client_of(member).post("/api/v1/services/", body, format="json")
    assert response.status_code == 400, response.content
    [message] = response.json()["exposure"]["hostnames"]
    assert f"{host!r} is reserved for the platform" in message and why in message
    assert ("no service may use it" if host in SERVED else "Only SREs") in message
    assert not Service.objects.filter(name="grab").exists()


@pytest.mark.parametrize(("level", "host", "why"), RESERVED)
def test_an_sre_may_give_a_service_a_reserved_hostname_but_none_the_platform_serves(
    team, platform_with_list, level, host, why
):
    sre = User.objects.create(username="sam", is_sre=True)
    body = {"name": "tool", "team": "payments", "exposure": {"level": level, "hostnames": [host]}}
    response = client_of(sre).post("/api/v1/services/", body, format="json")
    if host in SERVED:
        assert response.status_code == 400
        assert "no service may use it" in response.json()["exposure"]["hostnames"][0]
    else:
        assert response.status_code == 201, response.content


def test_a_member_may_keep_a_reserved_name_an_sre_gave_but_not_add_one(member, platform_with_list):
    sre = User.objects.create(username="sam", is_sre=True)
    body = {
        "name": "tool",
        "team": "payments",
        "exposure": {"level": "internal", "hostnames": ["portal.internal.example.com"]},
    }
    assert client_of(sre).post("/api/v1/services/", body, format="json").status_code == 201
    service = Service.objects.get(name="tool")
    client = client_of(member)
    assert client.patch("/api/v1/services/tool/", {"description": "Portal"}, format="json").status_code == 200
    hosts = ["portal.internal.example.com", "internal.example.com"]
    response = client.patch("/api/v1/services/tool/", {"exposure": {"hostnames": hosts}}, format="json")
    assert response.status_code == 400
    assert "'internal.example.com' is reserved" in response.json()["exposure"]["hostnames"][0]
    assert Service.objects.get(pk=service.pk).revision == 2


def test_the_configured_urls_hosts_are_reserved_wherever_they_point():
    platform = PlatformSpec(
        grafana_url="https://dashboards.internal.example.com/", oauth2_proxy_url="https://SignIn.internal.example.com"
    )
    reserved = reserved_hostnames(platform)
    assert "dashboards.internal.example.com" in reserved
    assert "signin.internal.example.com" in reserved
    assert reserved["internal.example.com"] == "it is the apex of the platform's internal zone"


def test_the_platform_settings_take_a_list_of_reserved_hostnames(platform):
    sre = User.objects.create(username="sam", is_sre=True)
    client = client_of(sre)
    response = client.patch(
        "/api/v1/platform/settings/", {"reserved_hostnames": ["Portal.internal.example.com."]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["reserved_hostnames"] == ["portal.internal.example.com"]
    response = client.patch("/api/v1/platform/settings/", {"reserved_hostnames": ["not a host"]}, format="json")
    assert response.status_code == 400
    assert "reserved_hostnames" in response.json()
