"""Failed sign-ins lock an account only for the address that failed (an IPv6 /64 counts as one address), so
nobody can lock someone else out by failing from elsewhere; each address also has its own limit across
accounts. Driven through allauth's real sign-in view with the configured limits."""

import pytest
from django.test import Client

from portal.users.models import User

pytestmark = pytest.mark.django_db

WRONG = "The username and/or password you specified are not correct."
TOO_MANY = "Too many failed login attempts. Try again later."
PASSWORD = "admin-password-123"


@pytest.fixture
def admin():
    return User.objects.create_user("admin", password=PASSWORD, is_sre=True)


def sign_in(address: str, username: str, password: str):
    client = Client(REMOTE_ADDR=address)
    response = client.post("/accounts/login/", {"login": username, "password": password})
    return response, client


def test_failures_from_many_addresses_do_not_lock_the_owner_out(admin):
    for i in range(1, 31):
        response, _ = sign_in(f"198.51.100.{i}", "admin", "guess")
        assert WRONG in response.content.decode()
    response, client = sign_in("192.0.2.50", "admin", PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(admin.pk)


def test_an_address_that_keeps_failing_is_locked_out_of_that_account(admin):
    for _ in range(5):
        assert WRONG in sign_in("198.51.100.7", "admin", "guess")[0].content.decode()
    # Even the right password is refused from there: guessing on cannot tell a hit from a miss.
    response, client = sign_in("198.51.100.7", "admin", PASSWORD)
    assert TOO_MANY in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert sign_in("192.0.2.50", "admin", PASSWORD)[0].status_code == 302


def test_an_ipv6_network_counts_as_one_address(admin):
    for host in range(1, 6):
        assert WRONG in sign_in(f"2001:db8:0:1::{host}", "admin", "guess")[0].content.decode()
    assert TOO_MANY in sign_in("2001:db8:0:1::99", "admin", PASSWORD)[0].content.decode()
    assert sign_in("2001:db8:0:2::1", "admin", PASSWORD)[0].status_code == 302


def test_an_address_failing_across_accounts_is_limited(admin):
    for name in ("ann", "bea", "cid", "dee", "eve", "fay", "gus", "hal", "ida", "jon"):
        assert WRONG in sign_in("198.51.100.9", name, "guess")[0].content.decode()
    assert TOO_MANY in sign_in("198.51.100.9", "admin", PASSWORD)[0].content.decode()
    assert sign_in("192.0.2.50", "admin", PASSWORD)[0].status_code == 302
