"""Services that meet every rule (gold), built through the catalog's write path and the stored rows runs and
plans leave; each test then takes one fact away."""

from datetime import time, timedelta

from django.utils import timezone

from portal.catalog.api.serializers import ServiceSerializer
from portal.catalog.models import Service
from portal.catalog.services import create_service
from portal.oncall.models import Rotation, RotationMember, Schedule
from portal.users.models import User
from provisioning.choices import RunAction, RunStatus
from provisioning.models import Plan, ProvisioningRun
from provisioning.scopes import service_key

GOLD = {
    "tier": 1,
    "runbook_url": "https://wiki.example.com/runbooks/ledger",
    "telemetry": {"dashboard": True, "tracing_sampling_percent": 5, "slo": {"availability": 99.9}},
    "traffic": {"mtls": "STRICT"},
}


def register(name: str, team: str = "payments", **data) -> Service:
    """A service validated by the API's serializer and registered through the catalog's write path."""
    serializer = ServiceSerializer(data={"name": name, "team": team, **data})
    serializer.is_valid(raise_exception=True)
    return create_service(serializer.validated_data)


def run(service: Service, action: str, status: str, *, ago: timedelta = timedelta(hours=1), drift: bool = False):
    finished = timezone.now() - ago
    row = ProvisioningRun.objects.create(
        scope=service_key(service.name), service=service, action=action, status=status, drift_found=drift
    )
    # created_at is set on insert: the order of runs is the order of their finish here.
    ProvisioningRun.objects.filter(pk=row.pk).update(created_at=finished, finished_at=finished)
    return row


def plan(service: Service, findings: list[dict] | None = None, *, revision: int | None = None) -> Plan:
    return Plan.objects.create(
        scope=service_key(service.name),
        service=service,
        catalog_revision=service.revision if revision is None else revision,
        fingerprint="f" * 64,
        findings=findings or [],
    )


def make_ready(service: Service) -> Service:
    """The stored outcome of a clean plan, a successful apply and a clean drift check an hour ago."""
    applied = run(service, RunAction.APPLY, RunStatus.SUCCEEDED, ago=timedelta(hours=2))
    applied.plan = plan(service)
    applied.save(update_fields=["plan"])
    run(service, RunAction.DRIFT_CHECK, RunStatus.SUCCEEDED, ago=timedelta(hours=1))
    return service


def rotate(team, role: str, usernames: list[str]) -> None:
    schedule, _ = Schedule.objects.get_or_create(team=team, defaults={"time_zone": "UTC"})
    rotation = Rotation.objects.create(
        # Yesterday at 09:00 UTC: the first of the members is on call now.
        schedule=schedule,
        role=role,
        shift_hours=168,
        start_date=timezone.now().date() - timedelta(days=1),
        handoff_time=time(9),
    )
    for position, username in enumerate(usernames):
        RotationMember.objects.create(rotation=rotation, user=User.objects.get(username=username), position=position)


def reload(service: Service) -> Service:
    return Service.objects.get(pk=service.pk)
