import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from portal.catalog.models import Membership
from portal.users.models import User


def run(*args) -> str:
    out = io.StringIO()
    call_command("create_api_token", *args, stdout=out)
    return out.getvalue().strip()


def test_creates_the_user_and_membership_and_prints_a_token(team):
    key = run("ci-bot", "--team", "payments", "--role", "owner")
    user = User.objects.get(username="ci-bot")
    assert Token.objects.get(user=user).key == key
    assert Membership.objects.get(user=user, team=team).role == "owner"
    assert not user.has_usable_password()
    assert not user.is_sre


def test_sre_flag_and_a_new_token_replaces_the_old(db):
    first = run("ops", "--sre")
    second = run("ops")
    user = User.objects.get(username="ops")
    assert user.is_sre and user.is_staff
    assert first != second
    assert list(Token.objects.filter(user=user).values_list("key", flat=True)) == [second]


def test_the_token_authenticates_against_the_api(client, team):
    key = run("ci-bot", "--team", "payments")
    response = client.get("/api/v1/teams/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200


def test_unknown_team_is_an_error_and_creates_nothing(db):
    with pytest.raises(CommandError, match="--team"):
        run("ghost", "--team", "nope")
    assert not User.objects.filter(username="ghost").exists()
