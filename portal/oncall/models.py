"""A team's on-call schedule as stored: rotations with ordered members, overrides, the calendar feed token.

The rotation math lives in ``portal.oncall.schedule`` (pure); ``portal.oncall.current`` turns these rows into
its ``Schedule``.
"""

import hashlib
import hmac
import secrets
from datetime import datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from .schedule import MAX_SHIFT_HOURS, Role

ROLE_CHOICES = [(role.value, role.label.capitalize()) for role in Role]


def _feed_token_digest(token: str) -> str:
    # The token is 256 random bits: a plain hash is enough, no need for a slow password hash.
    return hashlib.sha256(token.encode()).hexdigest()


class Schedule(models.Model):
    """A team's on-call schedule: one time zone, a rotation per role, overrides."""

    team = models.OneToOneField("catalog.Team", on_delete=models.CASCADE, related_name="oncall_schedule")
    time_zone = models.CharField(max_length=64, help_text="IANA time zone of the rotations' start and handoffs.")
    revision = models.PositiveIntegerField(default=1, editable=False, help_text="Bumped by every change.")
    feed_token_hash = models.CharField(
        max_length=64, blank=True, editable=False, help_text="SHA-256 of the iCalendar feed token; empty = no feed."
    )
    feed_token_created_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Who the team's rendered alert routing (AlertmanagerConfig) names; oncall.refresh_routing re-applies the
    # team's services when the pair on call differs.
    routed_incident_commander = models.CharField(max_length=150, blank=True, editable=False)
    routed_resolver = models.CharField(max_length=150, blank=True, editable=False)
    routed_at = models.DateTimeField(null=True, blank=True, editable=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["team__slug"]

    def __str__(self) -> str:
        return f"on-call schedule of {self.team}"

    # --- iCalendar feed token ---------------------------------------------------------------------

    @property
    def has_feed_token(self) -> bool:
        return bool(self.feed_token_hash)

    def issue_feed_token(self) -> str:
        """A new feed token (the previous one stops working); only its hash is stored, so show it once."""
        token = secrets.token_urlsafe(32)
        self.feed_token_hash = _feed_token_digest(token)
        self.feed_token_created_at = timezone.now()
        self.save(update_fields=["feed_token_hash", "feed_token_created_at", "updated_at"])
        return token

    def revoke_feed_token(self) -> None:
        self.feed_token_hash = ""
        self.feed_token_created_at = None
        self.save(update_fields=["feed_token_hash", "feed_token_created_at", "updated_at"])

    def feed_token_matches(self, token: str | None) -> bool:
        if not (token and self.feed_token_hash):
            return False
        return hmac.compare_digest(_feed_token_digest(token), self.feed_token_hash)


class Rotation(models.Model):
    """One role's rotation: members take shifts of ``shift_hours`` in order from the start."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="rotations")
    role = models.CharField(max_length=32, choices=ROLE_CHOICES)
    shift_hours = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(MAX_SHIFT_HOURS)])
    # The first handoff as wall time in the schedule's zone: a date and a time, deliberately not an instant.
    start_date = models.DateField()
    handoff_time = models.TimeField()

    class Meta:
        ordering = ["schedule", "role"]
        constraints = [models.UniqueConstraint(fields=["schedule", "role"], name="oncall_rotation_unique_role")]

    def __str__(self) -> str:
        return f"{self.schedule.team} {self.role}"

    @property
    def start(self) -> datetime:
        """Naive wall-clock start in the schedule's time zone."""
        return datetime.combine(self.start_date, self.handoff_time)


class RotationMember(models.Model):
    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["rotation", "position"]
        constraints = [
            models.UniqueConstraint(fields=["rotation", "position"], name="oncall_member_unique_position"),
            models.UniqueConstraint(fields=["rotation", "user"], name="oncall_member_unique_user"),
        ]

    def __str__(self) -> str:
        return f"{self.rotation} #{self.position}: {self.user}"


class Override(models.Model):
    """``user`` holds ``role`` from ``start`` to ``end`` instead of the rotation."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="overrides")
    role = models.CharField(max_length=32, choices=ROLE_CHOICES)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    start = models.DateTimeField()
    end = models.DateTimeField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["schedule", "position"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="oncall_override_end_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.schedule.team} {self.role}: {self.user} {self.start:%Y-%m-%d %H:%M} – {self.end:%Y-%m-%d %H:%M}"
