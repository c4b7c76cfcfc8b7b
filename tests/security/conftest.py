"""The world the authorization matrix is checked in: two teams, a person in each role, and one of everything a
URL can point at (services, a run waiting for approval, a plan, an on-call schedule with its feed, an audit
event). Each person signs in the real way: a DRF token for the API, a session for the pages and the admin."""

from dataclasses import dataclass, field

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from rest_framework.authtoken.models import Token

from portal.audit.models import AuditEvent
from portal.catalog.api.serializers import ServiceSerializer
from portal.catalog.models import Membership, PlatformSettings, Service, Team
from portal.catalog.services import create_service
from portal.oncall.api.serializers import ScheduleSerializer
from portal.users.models import User
from provisioning.choices import RunAction, RunStatus
from provisioning.models import Plan, ProvisioningRun, RunLogEntry
from provisioning.scopes import service_key

from .matrix import ANONYMOUS, MEMBER_A, MEMBER_B, OWNER_A, SRE

WEBHOOK_A = "https://hooks.example.com/services/TA/BA/team-a-webhook"


@dataclass
class World:
    users: dict[str, User]
    team_a: Team
    team_b: Team
    service: Service  # of team A, nothing in flight: plan, apply, delete
    gateway: Service  # of team A, its run waits for an SRE's approval
    run: ProvisioningRun  # the waiting run, requested by team A's member
    plan: Plan
    newcomer: User  # signed up, in no team: whom owners add
    feed_token: str
    audit: AuditEvent
    tokens: dict[str, str] = field(default_factory=dict)

    def values(self) -> dict[str, object]:
        """What path templates and bodies refer to by name."""
        return {
            "team_a": self.team_a.slug,
            "team_b": self.team_b.slug,
            "service": self.service.name,
            "gateway": self.gateway.name,
            "run": self.run.pk,
            "plan": self.plan.pk,
            "member_a": self.users[MEMBER_A].username,
            "owner_a": self.users[OWNER_A].username,
            "newcomer": self.newcomer.username,
            "newcomer_pk": self.newcomer.pk,
            "feed_token": self.feed_token,
            "audit": self.audit.pk,
            "team_pk": self.team_a.pk,
            "team_ct": ContentType.objects.get_for_model(Team).pk,
        }

    def client(self, role: str, *, api: bool) -> Client:
        """A client signed in as the role: with the role's token for the API, a session for pages."""
        if role == ANONYMOUS:
            return Client()
        if api:
            return Client(headers={"Authorization": f"Token {self.tokens[role]}"})
        client = Client()
        client.force_login(self.users[role])
        return client


def register(team: Team, **data) -> Service:
    serializer = ServiceSerializer(data={"team": team.slug, **data})
    serializer.is_valid(raise_exception=True)
    return create_service(serializer.validated_data)


@pytest.fixture
def gitops(settings, tmp_path):
    settings.PORTAL_GITOPS_DIR = tmp_path / "gitops"
    settings.PORTAL_GITOPS_REMOTE = ""


@pytest.fixture
def world(db, gitops) -> World:
    return build_world()


def build_world() -> World:
    PlatformSettings.load()
    team_a = Team.objects.create(
        slug="team-a", name="Team A", slack_channel="#team-a", incident_alertmanager_url=WEBHOOK_A, sso_group="team-a"
    )
    team_b = Team.objects.create(slug="team-b", name="Team B", slack_channel="#team-b")
    users = {
        MEMBER_A: User.objects.create_user("ann", password="ann-password-123"),
        OWNER_A: User.objects.create_user("otto", password="otto-password-123"),
        MEMBER_B: User.objects.create_user("bea", password="bea-password-123"),
        SRE: User.objects.create_user("sam", password="sam-password-123", is_sre=True),
    }
    Membership.objects.create(team=team_a, user=users[MEMBER_A], role="member")
    Membership.objects.create(team=team_a, user=users[OWNER_A], role="owner")
    Membership.objects.create(team=team_b, user=users[MEMBER_B], role="member")
    newcomer = User.objects.create_user("nina", password="nina-password-123")

    service = register(team_a, name="ledger", description="The ledger")
    gateway = register(team_a, name="gateway", description="The gateway")
    plan = Plan.objects.create(
        scope=service_key(service.name),
        service=service,
        catalog_revision=service.revision,
        fingerprint="f" * 64,
        summary={"create": 1, "update": 0, "delete": 0, "unchanged": 0},
        changes=[
            {
                "action": "create",
                "provider": "kubernetes",
                "kind": "Namespace",
                "namespace": "",
                "name": "ledger",
                "diff": [{"path": "metadata.name", "old": None, "new": "ledger"}],
            }
        ],
    )
    run = ProvisioningRun.objects.create(
        scope=service_key(gateway.name),
        service=gateway,
        action=RunAction.APPLY,
        status=RunStatus.AWAITING_APPROVAL,
        requested_by=users[MEMBER_A],
    )
    RunLogEntry.objects.create(run=run, event="provisioning.run.requested", message="waiting for an SRE")

    schedule = ScheduleSerializer(
        data={
            "time_zone": "UTC",
            "rotations": [
                {
                    "role": "incident_commander",
                    "members": ["ann", "otto"],
                    "shift_hours": 24,
                    "start": "2026-01-05T09:00",
                },
                {"role": "resolver", "members": ["otto", "ann"], "shift_hours": 24, "start": "2026-01-05T09:00"},
            ],
        },
        context={"team": team_a},
    )
    schedule.is_valid(raise_exception=True)
    feed_token = schedule.save(user=users[OWNER_A]).issue_feed_token()

    world = World(
        users=users,
        team_a=team_a,
        team_b=team_b,
        service=service,
        gateway=gateway,
        run=run,
        plan=plan,
        newcomer=newcomer,
        feed_token=feed_token,
        audit=AuditEvent.objects.latest("pk"),
    )
    world.tokens = {role: Token.objects.create(user=user).key for role, user in users.items()}
    return world
