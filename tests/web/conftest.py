"""Fixtures of the web pages' tests: people in each role, signed-in clients, a team with a service."""

import pytest
from django.test import Client

from portal.catalog.api.serializers import ServiceSerializer
from portal.catalog.models import Membership, Service
from portal.catalog.services import create_service
from portal.users.models import User


@pytest.fixture(autouse=True)
def gitops(settings, tmp_path):
    """The Kubernetes half of every plan and run goes to a git working tree of the test's own."""
    settings.PORTAL_GITOPS_DIR = tmp_path / "gitops"
    settings.PORTAL_GITOPS_REMOTE = ""


@pytest.fixture
def member(team):
    user = User.objects.create_user("alice", password="alice-password-123")
    Membership.objects.create(team=team, user=user, role="member")
    return user


@pytest.fixture
def owner(team):
    user = User.objects.create_user("olivia", password="olivia-password-123")
    Membership.objects.create(team=team, user=user, role="owner")
    return user


@pytest.fixture
def outsider(db):
    return User.objects.create_user("mallory", password="mallory-password-123")


@pytest.fixture
def sre(db):
    return User.objects.create_user("sam", password="sam-password-123", is_sre=True)


@pytest.fixture
def other_sre(db):
    return User.objects.create_user("sasha", password="sasha-password-123", is_sre=True)


@pytest.fixture
def client_for(db):
    def make(user=None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make


def register(**data) -> Service:
    """A service validated by the API's serializer and registered through the catalog's write path."""
    serializer = ServiceSerializer(data={"team": "payments", **data})
    serializer.is_valid(raise_exception=True)
    return create_service(serializer.validated_data)


@pytest.fixture
def service(team, platform):
    return register(name="ledger", description="The ledger")
