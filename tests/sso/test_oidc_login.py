"""Signing in: SSO through a real OpenID Connect provider process, and local accounts."""

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from django.contrib import auth
from django.test import Client
from django.urls import reverse

from portal.catalog.choices import MembershipRole, MembershipSource
from portal.catalog.models import Membership, Team
from portal.users.models import User

from .conftest import REDIRECT_URI

ACCOUNT = {
    "sub": "7f3c2a10-alice",
    "preferred_username": "alice",
    "email": "alice@example.com",
    "email_verified": True,
    "name": "Alice Example",
}


class _Form(HTMLParser):
    """The action and the named inputs (with their values) of the first form in a page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._in_form = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and self.action is None:
            self.action, self._in_form = attrs.get("action") or "", True
        elif tag == "input" and self._in_form and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False


def _at_provider(url: str, issuer: str, login: str) -> str:
    """Act as a fresh browser at the provider: follow its redirects and submit its login and consent
    forms until it sends the browser away; returns that URL."""
    browser = requests.Session()
    response = browser.get(url, allow_redirects=False, timeout=10)
    for _ in range(10):
        if response.is_redirect:
            url = urljoin(response.url, response.headers["Location"])
            if not url.startswith(f"{issuer}/"):
                return url
            response = browser.get(url, allow_redirects=False, timeout=10)
            continue
        assert response.status_code == 200, response.text
        form = _Form(response.text)
        assert form.action is not None, f"no form at {response.url}:\n{response.text}"
        if "login" in form.fields:
            form.fields.update(login=login, password="not-checked")
        response = browser.post(urljoin(response.url, form.action), data=form.fields, allow_redirects=False, timeout=10)
    raise AssertionError(f"the provider did not send the browser back; last page {response.url}")


def sso_callback(client: Client, oidc_provider, **claims):
    """Start the SSO login in the portal, sign in at the provider as the account with these claims,
    and return the portal's answer to the provider's redirect back."""
    oidc_provider.set_account(**claims)

    # allauth starts the login on POST (SOCIALACCOUNT_LOGIN_ON_GET is off).
    response = client.post(reverse("openid_connect_login", kwargs={"provider_id": "sso"}))
    assert response.status_code == 302, response.content.decode()
    authorize = response["Location"]
    assert authorize.startswith(f"{oidc_provider.issuer}/auth?"), authorize

    callback = urlsplit(_at_provider(authorize, oidc_provider.issuer, login=claims["sub"]))
    assert callback._replace(query="").geturl() == REDIRECT_URI
    assert "code=" in callback.query, callback.query

    # The callback exchanges the code at the provider's token endpoint and fetches userinfo.
    return client.get(f"{callback.path}?{callback.query}")


def sign_in_with_sso(oidc_provider, **claims) -> Client:
    """A new browser signs in at the portal through the provider."""
    client = Client()
    response = sso_callback(client, oidc_provider, **claims)
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == "/"
    return client


@pytest.fixture
def teams(db):
    return {
        slug: Team.objects.create(slug=slug, name=slug.title(), sso_group=slug) for slug in ("payments", "checkout")
    }


def memberships(user) -> dict[str, tuple[str, str]]:
    return {m.team.slug: (m.role, m.source) for m in Membership.objects.filter(user=user).select_related("team")}


def test_login_urls():
    assert reverse("openid_connect_login", kwargs={"provider_id": "sso"}) == "/accounts/oidc/sso/login/"
    assert urlsplit(REDIRECT_URI).path == reverse("openid_connect_callback", kwargs={"provider_id": "sso"})


def test_sso_login_joins_the_teams_of_the_groups_claim(sso_settings, oidc_provider, teams):
    client = sign_in_with_sso(oidc_provider, **ACCOUNT, groups=["payments", "platform-sre"])

    user = auth.get_user(client)
    assert user.is_authenticated
    assert user.username == "alice"
    assert user.email == "alice@example.com"
    assert user.socialaccount_set.get().uid == ACCOUNT["sub"]
    assert user.sso_groups == ["payments", "platform-sre"]
    assert user.is_sre
    assert user.is_staff
    assert memberships(user) == {"payments": (MembershipRole.MEMBER, MembershipSource.SSO)}


def test_next_sso_login_follows_the_changed_groups_claim(sso_settings, oidc_provider, teams):
    sign_in_with_sso(oidc_provider, **ACCOUNT, groups=["payments", "platform-sre"])
    client = sign_in_with_sso(oidc_provider, **ACCOUNT, groups=["payments-owners"])

    user = auth.get_user(client)
    assert user.is_authenticated
    assert User.objects.get() == user
    assert user.username == "alice"
    assert not user.is_sre
    assert not user.is_staff
    assert memberships(user) == {"payments": (MembershipRole.OWNER, MembershipSource.SSO)}


def test_sso_login_fails_when_the_provider_rejects_the_client(sso_settings, oidc_provider, teams):
    sso_settings.SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"][0]["secret"] = "not-the-secret"
    client = Client()

    response = sso_callback(client, oidc_provider, **ACCOUNT, groups=["payments"])

    assert response.status_code == 401
    assert "Third-Party Login Failure" in response.content.decode()
    assert not auth.get_user(client).is_authenticated
    assert not User.objects.exists()


def test_local_account_signs_in_with_username_and_password(db):
    User.objects.create_user("dev", password="a-long-local-password")
    client = Client()

    response = client.post(reverse("account_login"), {"login": "dev", "password": "wrong-password"})
    assert response.status_code == 200
    assert not auth.get_user(client).is_authenticated

    response = client.post(reverse("account_login"), {"login": "dev", "password": "a-long-local-password"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert auth.get_user(client).username == "dev"
