"""A stored card is due when anything it was computed from changes: the service and its sections, its runs and plans,
its team, the team's members and on-call schedule, the platform settings. A worker computes it a second after the
change commits (``tasks.ask_compute``); a list that finds it due for longer computes it itself
(``PORTAL_SCORECARD_GRACE_SECONDS``). Until then it is listed as it was. Changes made without a signal (bulk
updates) are seen when the card's time is up (``cards.STORED_CARD_MAX_AGE``)."""

from django.db import transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from portal.catalog.models import Membership, PlatformSettings, Service, Team, Telemetry, Traffic
from portal.oncall.models import Override, Rotation, RotationMember, Schedule
from provisioning.models import Plan
from provisioning.signals import run_finished

from .models import StoredCard
from .rules import LEVEL_ORDER
from .tasks import ask_compute


def made_due(cards) -> None:
    """These stored cards are due: a worker computes them once the change commits (``tasks.ask_compute``). Their
    version goes up, so that a computation that read what was there before the change cannot store over them
    (``cards.compute_and_store``)."""
    if cards.update(valid_until=timezone.now(), version=F("version") + 1):
        transaction.on_commit(ask_compute)


def forget_service(service_id: int | None) -> None:
    if service_id is not None:
        made_due(StoredCard.objects.filter(service_id=service_id))


def forget_team(team_id: int | None) -> None:
    if team_id is not None:
        made_due(StoredCard.objects.filter(team_id=team_id))


def hold_place(service: Service) -> None:
    """A new service's card, held from the transaction that creates the service: due, and of no rules, so no list
    shows it before it is computed (as with a missing card). A change that commits while the first card is computed
    raises this card's version, as it would a computed card's, and the computation does not store over it (a
    missing card has no version to raise)."""
    now = timezone.now()
    StoredCard.objects.create(
        service=service,
        name=service.name,
        team_id=service.team_id,
        tier=service.tier,
        level=LEVEL_ORDER[0],
        rank=0,
        passed=0,
        failed=0,
        failing=0,
        rules="",
        codes="",
        computed_at=now,
        valid_until=now,
    )
    transaction.on_commit(ask_compute)


@receiver([post_save, post_delete], sender=Service, dispatch_uid="scorecards-service")
def service_changed(sender, instance: Service, created: bool = False, **kwargs) -> None:
    if created:
        hold_place(instance)
    else:
        forget_service(instance.pk)


@receiver([post_save, post_delete], sender=Traffic, dispatch_uid="scorecards-traffic")
@receiver([post_save, post_delete], sender=Telemetry, dispatch_uid="scorecards-telemetry")
@receiver([post_save, post_delete], sender=Plan, dispatch_uid="scorecards-plan")
def section_changed(sender, instance, **kwargs) -> None:
    forget_service(instance.service_id)


@receiver(run_finished, dispatch_uid="scorecards-run")
def run_ended(sender, run, **kwargs) -> None:
    forget_service(run.service_id)


@receiver([post_save, post_delete], sender=Team, dispatch_uid="scorecards-team")
def team_changed(sender, instance: Team, **kwargs) -> None:
    forget_team(instance.pk)


@receiver([post_save, post_delete], sender=Membership, dispatch_uid="scorecards-membership")
@receiver([post_save, post_delete], sender=Schedule, dispatch_uid="scorecards-schedule")
def team_part_changed(sender, instance, **kwargs) -> None:
    forget_team(instance.team_id)


@receiver([post_save, post_delete], sender=Rotation, dispatch_uid="scorecards-rotation")
@receiver([post_save, post_delete], sender=Override, dispatch_uid="scorecards-override")
def schedule_part_changed(sender, instance, **kwargs) -> None:
    forget_team(Schedule.objects.filter(pk=instance.schedule_id).values_list("team_id", flat=True).first())


@receiver([post_save, post_delete], sender=RotationMember, dispatch_uid="scorecards-rotation-member")
def rotation_member_changed(sender, instance: RotationMember, **kwargs) -> None:
    team = Rotation.objects.filter(pk=instance.rotation_id).values_list("schedule__team_id", flat=True).first()
    forget_team(team)


@receiver(post_save, sender=PlatformSettings, dispatch_uid="scorecards-platform")
def platform_changed(sender, **kwargs) -> None:
    made_due(StoredCard.objects.all())
