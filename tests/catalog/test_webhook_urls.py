"""Incident webhooks: only https, never into private, loopback, link-local or in-cluster networks (SSRF), however
the address is written, unless allowed for development. Platform settings URLs get the same syntax checks."""

import pytest
from rest_framework.test import APIClient

from portal.catalog.api.serializers import TeamSerializer
from portal.catalog.models import PlatformSettings, Team
from portal.core.netcheck import UnsafeURL, check_public_url, system_resolver
from portal.users.models import User


def attempt(url: str):
    serializer = TeamSerializer(data={"slug": "payments", "name": "Payments", "incident_webhook_url": url})
    return serializer.is_valid(), serializer.errors


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",  # not https
        "https://127.0.0.1/hook",  # loopback
        "https://[::1]/hook",
        "https://10.0.0.5/hook",  # private
        "https://192.168.1.10/hook",
        "https://169.254.169.254/latest/meta-data/",  # link-local: the instance metadata service
        "https://localhost/hook",
        "https://metadata.google.internal/hook",
        "https://vault.local/hook",
        "https://intranet/hook",  # a bare name resolves inside the network
        "https://user:pass@hooks.example.com/x",
        "ftp://hooks.example.com/x",
        # Loopback as inet_aton and the URL standard read it.
        "https://127.1/",
        "https://0x7f.1/",
        "https://0177.0.0.1/",
        "https://127.000.000.001/",
        "https://2130706433/",
        "https://0x7f000001/",
        "https://0/",
        "https://127.0.0.1./",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:a9fe:a9fe]/",  # 169.254.169.254 inside IPv6
        "https://[64:ff9b::a9fe:a9fe]/",
        "https://[fe80::1%25eth0]/",
        "https://100.64.0.1/",  # carrier-grade NAT
        "https://256.1.1.1/",  # not an address, not a name
        "https://1.2.3.08/",
        # In-cluster and local names.
        "https://kubernetes.default.svc/",
        "https://kubernetes.default.svc.cluster.local/",
        "https://alertmanager.monitoring/",
        "https://alertmanager.monitoring:9093/api/v2/alerts",
        "https://LOCALHOST/",
        "https://localhost./",
        "https://router.home.arpa/",
        "https://hooks.corp/",
        # Characters and ports the senders read differently.
        "https://hooks.example.com/x\r\nX-Injected: 1",
        "https://hooks.example.com/x\ty",
        "https://hooks.example.com/a b",
        "https://127。0。0。1/",
        "https://127%2e0%2e0%2e1/",
        "https://hooks.example.com\\@127.0.0.1/",
        "https://hooks.example.com:99999/",
        "https://hooks.example.com:0/",
        "https://hooks.example.com:http/",
    ],
)
def test_unsafe_webhook_urls_are_refused_naming_the_field(db, url):
    valid, errors = attempt(url)
    assert not valid
    assert "incident_webhook_url" in errors
    assert not Team.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/services/T0/B0/x",
        "https://HOOKS.Example.com:8443/services/x?a=1&b=%20",
        "https://93.184.216.34/hook",
        "https://[2606:2800:220:1:248:1893:25c8:1946]/hook",
    ],
)
def test_public_https_webhooks_are_accepted(db, url):
    valid, errors = attempt(url)
    assert valid, errors


def test_development_may_allow_private_addresses(db, settings):
    settings.PORTAL_ALLOW_PRIVATE_WEBHOOKS = True
    valid, errors = attempt("https://10.0.0.5/hook")
    assert valid, errors
    assert not attempt("http://10.0.0.5/hook")[0], "https stays required"
    assert not attempt("https://10.0.0.5:99999/hook")[0], "ports and characters are still checked"
    assert not attempt("https://10.0.0.5/hook\r\nX: y")[0]


# --- names: every address they resolve to is checked -----------------------------------------------------------


def resolver(table: dict[str, list[str]]):
    return lambda host, port: table.get(host, [])


@pytest.mark.parametrize(
    "addresses",
    [["127.0.0.1"], ["::1"], ["169.254.169.254"], ["fe80::1"], ["10.1.2.3"], ["93.184.216.34", "169.254.169.254"]],
)
def test_a_name_resolving_to_any_non_public_address_is_refused(addresses):
    with pytest.raises(UnsafeURL) as refused:
        check_public_url(
            "https://hooks.attacker.example.com/x", resolve=resolver({"hooks.attacker.example.com": addresses})
        )
    assert refused.value.code == "url_private"
    assert "resolves to" in refused.value.message


def test_a_name_resolving_to_public_addresses_only_or_not_yet_at_all_is_accepted():
    public = resolver({"hooks.example.com": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]})
    check_public_url("https://hooks.example.com/x", resolve=public)
    check_public_url("https://hooks.example.org/x", resolve=public)


def test_the_system_resolver_is_asked_for_every_address():
    assert "127.0.0.1" in system_resolver("localhost", 443)
    assert system_resolver("no-such-host.invalid", 443) == []


# --- platform settings -----------------------------------------------------------------------------------------


@pytest.fixture
def sre(db) -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.create(username="sam", is_sre=True))
    return client


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("grafana_url", "javascript:alert(document.cookie)"),
        ("grafana_url", "file:///etc/passwd"),
        ("grafana_url", "https://grafana.internal.example.com/\r\nX: y"),
        ("oauth2_proxy_url", "data:text/html,<script>alert(1)</script>"),
        ("oauth2_proxy_url", "https://oauth2-proxy.internal.example.com:99999"),
        ("slack_webhook_url", "javascript:alert(1)"),
        ("slack_webhook_url", "http://hooks.slack.com/services/T0/B0/x"),
        ("slack_webhook_url", "https://169.254.169.254/latest/"),
        ("slack_webhook_url", "https://alertmanager.monitoring/"),
    ],
)
def test_platform_urls_are_checked_naming_the_field(sre, field, value):
    before = PlatformSettings.load()
    response = sre.patch("/api/v1/platform/settings/", {field: value}, format="json")
    assert response.status_code == 400, response.json()
    assert list(response.json()) == [field]
    after = PlatformSettings.load()
    assert (after.grafana_url, after.oauth2_proxy_url, after.slack_webhook_url) == (
        before.grafana_url,
        before.oauth2_proxy_url,
        before.slack_webhook_url,
    )


def test_good_platform_urls_are_saved(sre):
    response = sre.patch(
        "/api/v1/platform/settings/",
        {
            "grafana_url": "http://grafana.monitoring:3000",
            "oauth2_proxy_url": "https://sso.internal.example.com",
            "slack_webhook_url": "https://hooks.slack.com/services/T0/B0/x",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert PlatformSettings.load().slack_webhook_url == "https://hooks.slack.com/services/T0/B0/x"
