"""``manage.py analyze`` without ``-f``: the portal's whole desired state, the platform layer and every active
service rendered as a plan would render them."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from portal.catalog.models import Membership
from portal.users.models import User
from provisioning.management.commands.analyze import desired_state

pytestmark = pytest.mark.usefixtures("platform")


@pytest.fixture
def services(team):
    user = User.objects.create(username="alice")
    Membership.objects.create(team=team, user=user, role="member")
    client = APIClient()
    client.force_authenticate(user)
    for payload in (
        {"name": "checkout"},
        # Exposed through the internal gateway and closed to all callers but checkout: the gateway must stay admitted.
        {
            "name": "ledger",
            "exposure": {"level": "internal", "hostnames": ["ledger.internal.example.com"]},
            "traffic": {"allowed_callers": ["checkout"], "canary": {"version": "v2", "weight": 10}},
        },
    ):
        response = client.post("/api/v1/services/", {"team": "payments", **payload}, format="json")
        assert response.status_code == 201, response.json()


def test_the_desired_state_holds_the_platform_and_every_service_with_their_aws_resources(services):
    inventory, settings = desired_state()
    idents = {o.ident for o in inventory.objects}
    assert {
        "Gateway/istio-ingress/internal-gateway",
        "VirtualService/ledger/ledger",
        "Service/checkout/checkout",
    } <= idents
    assert settings.root_namespace == "istio-system"
    assert {"route53.Record", "logs.LogGroup"} <= {r.kind for r in inventory.aws}


def test_without_files_the_command_analyzes_the_desired_state(services):
    out = StringIO()
    try:
        call_command("analyze", "--format", "json", stdout=out)
    except CommandError as raised:
        assert raised.returncode == 1
    findings = json.loads(out.getvalue())["findings"]
    # Whatever the renderers still leave unwired, the services' own objects bind, resolve and admit.
    assert not [f for f in findings if "/ledger/" in f["object"] or "/checkout/" in f["object"]], findings
