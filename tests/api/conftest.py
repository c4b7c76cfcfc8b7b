import pytest
from rest_framework.test import APIClient

from portal.catalog.models import Membership
from portal.users.models import User


@pytest.fixture
def gitops(settings, tmp_path):
    settings.PORTAL_GITOPS_DIR = tmp_path / "gitops"


@pytest.fixture
def member(team):
    user = User.objects.create(username="alice")
    Membership.objects.create(team=team, user=user, role="member")
    return user


@pytest.fixture
def outsider(db):
    return User.objects.create(username="mallory")


@pytest.fixture
def sre(db):
    return User.objects.create(username="sam", is_sre=True)


@pytest.fixture
def api():
    def client_for(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return client_for
