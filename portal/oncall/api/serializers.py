"""The on-call schedule document (DESIGN.md §5): validation through the pure module, and the one write path.

Errors are nested objects keyed like the pure module's paths: ``rotations.0.members`` becomes
``{"rotations": {"0": {"members": [...]}}}``; a message about a whole item or list sits under
``non_field_errors`` of that item or list. DRF's own type errors are re-keyed the same way.
"""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import APIException

from portal.catalog.models import Team

from .. import schedule as pure
from ..current import Holder, team_members
from ..limits import date_errors, date_problem
from ..models import Override, Rotation, RotationMember, Schedule

NON_FIELD = "non_field_errors"


class ScheduleChanged(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The schedule changed since it was read; GET it again and reapply your change."
    default_code = "conflict"


@extend_schema_field(OpenApiTypes.STR)
class IsoDateTimeField(serializers.Field):
    """An ISO 8601 date and time, kept naive when it has no offset: the pure module decides what that means."""

    default_error_messages = {"invalid": "Enter an ISO 8601 date and time, e.g. 2026-11-23T10:00:00+09:00."}

    def to_internal_value(self, data: Any) -> datetime:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            return datetime.fromisoformat(data)
        except ValueError:
            self.fail("invalid")

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


class RotationSerializer(serializers.Serializer):
    # Roles, members and shift lengths are checked by pure.validate_schedule, so the rules and their
    # messages exist once; these fields only check types.
    role = serializers.CharField(max_length=32)
    members = serializers.ListField(child=serializers.CharField(max_length=150), max_length=100)
    shift_hours = serializers.IntegerField()
    start = IsoDateTimeField(help_text="First handoff; without an offset it is wall time in the schedule's zone.")


class OverrideSerializer(serializers.Serializer):
    role = serializers.CharField(max_length=32)
    member = serializers.CharField(max_length=150)
    start = IsoDateTimeField(help_text="With a UTC offset.")
    end = IsoDateTimeField(help_text="With a UTC offset; exclusive.")


def _index_keyed(detail: Any) -> Any:
    """DRF reports errors of list items as a list with an empty dict per valid item; key them by index instead."""
    if isinstance(detail, dict):
        return {str(key): _index_keyed(value) for key, value in detail.items()}
    if isinstance(detail, list) and any(isinstance(item, dict) for item in detail):
        return {str(i): _index_keyed(item) for i, item in enumerate(detail) if item}
    return detail


# The document's lists: a message about one of them, or about one of their items, is that object's
# non_field_errors, as DRF reports errors of a nested serializer's validate().
LISTS = ("rotations", "overrides")


def nest_errors(errors: dict[str, list[str]]) -> dict[str, Any]:
    """``{"rotations.0.members": [...], "overrides.1": [...]}`` ->
    ``{"rotations": {"0": {"members": [...]}}, "overrides": {"1": {"non_field_errors": [...]}}}``."""
    nested: dict[str, Any] = {}
    for path, messages in errors.items():
        parts = path.split(".")
        if parts[-1].isdigit() or path in LISTS:
            parts.append(NON_FIELD)
        node = nested
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node.setdefault(parts[-1], []).extend(messages)
    return nested


class ScheduleSerializer(serializers.Serializer):
    """The whole schedule of one team (``context["team"]``); PUT replaces it."""

    team = serializers.CharField(read_only=True, help_text="The team's slug.")
    time_zone = serializers.CharField(max_length=64)
    rotations = RotationSerializer(many=True)
    overrides = OverrideSerializer(many=True, default=list)
    revision = serializers.IntegerField(
        required=False, help_text="The revision you read; a PUT is refused (409) when the schedule moved on."
    )
    feed_token_set = serializers.BooleanField(read_only=True, help_text="Whether the iCalendar feed is open.")
    updated_at = serializers.DateTimeField(read_only=True)

    @property
    def owner(self) -> Team:
        return self.context["team"]

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError(_index_keyed(exc.detail)) from exc

    def validate(self, attrs):
        draft = pure.Schedule(
            time_zone=attrs["time_zone"],
            rotations=tuple(
                pure.Rotation(r["role"], tuple(r["members"]), r["shift_hours"], r["start"]) for r in attrs["rotations"]
            ),
            overrides=tuple(pure.Override(o["role"], o["member"], o["start"], o["end"]) for o in attrs["overrides"]),
        )
        errors = pure.validate_schedule(draft, team_members(self.owner))
        for path, messages in date_errors(draft, timezone.now()).items():
            errors.setdefault(path, []).extend(messages)
        if errors:
            raise serializers.ValidationError(nest_errors(errors))
        for rotation in attrs["rotations"]:
            rotation["start"] = pure.parse_wall_time(rotation["start"], attrs["time_zone"])
        return attrs

    # --- writing -------------------------------------------------------------------------------------

    def save(self, **kwargs) -> Schedule:
        """Replace the team's schedule (creating it if needed); all or nothing."""
        try:
            self.instance = self._write(self.validated_data, kwargs.get("user"))
        except IntegrityError:
            # Another request created the schedule between our read and our write.
            raise ScheduleChanged() from None
        return self.instance

    @transaction.atomic
    def _write(self, data: dict[str, Any], user) -> Schedule:
        # Lock the row so two concurrent PUTs apply one after the other and revisions stay honest.
        row = Schedule.objects.select_for_update().filter(team=self.owner).first()
        if row is None:
            row = Schedule(team=self.owner, revision=0)
        elif data.get("revision") is not None and data["revision"] != row.revision:
            raise ScheduleChanged()
        row.time_zone = data["time_zone"]
        row.revision += 1
        row.updated_by = user if getattr(user, "pk", None) else None
        row.save()
        row.rotations.all().delete()
        row.overrides.all().delete()

        usernames = {m for r in data["rotations"] for m in r["members"]} | {o["member"] for o in data["overrides"]}
        users = {u.username: u for u in get_user_model().objects.filter(username__in=usernames)}
        for spec in data["rotations"]:
            rotation = Rotation.objects.create(
                schedule=row,
                role=spec["role"],
                shift_hours=spec["shift_hours"],
                start_date=spec["start"].date(),
                handoff_time=spec["start"].time(),
            )
            RotationMember.objects.bulk_create(
                RotationMember(rotation=rotation, user=users[name], position=i)
                for i, name in enumerate(spec["members"])
            )
        Override.objects.bulk_create(
            Override(schedule=row, role=o["role"], user=users[o["member"]], start=o["start"], end=o["end"], position=i)
            for i, o in enumerate(data["overrides"])
        )
        return row

    # --- reading -------------------------------------------------------------------------------------

    def to_representation(self, instance: Schedule) -> dict[str, Any]:
        zone = ZoneInfo(instance.time_zone)
        return {
            "team": instance.team.slug,
            "time_zone": instance.time_zone,
            "rotations": [
                {
                    "role": rotation.role,
                    "members": [m.user.username for m in rotation.members.all()],
                    "shift_hours": rotation.shift_hours,
                    "start": rotation.start.isoformat(),
                }
                for rotation in instance.rotations.all()
            ],
            "overrides": [
                {
                    "role": o.role,
                    "member": o.user.username,
                    "start": o.start.astimezone(zone).isoformat(),
                    "end": o.end.astimezone(zone).isoformat(),
                }
                for o in instance.overrides.all()
            ],
            "revision": instance.revision,
            "feed_token_set": instance.has_feed_token,
            "updated_at": serializers.DateTimeField().to_representation(instance.updated_at),
        }


def holder_document(holder: Holder | None, zone: ZoneInfo) -> dict[str, Any] | None:
    if holder is None:
        return None
    return {
        "username": holder.username,
        "since": holder.since.astimezone(zone).isoformat(),
        "until": holder.until.astimezone(zone).isoformat(),
        "override": holder.is_override,
    }


def now_document(time_zone: str, at: datetime, holders: dict[str, Holder | None]) -> dict[str, Any]:
    """``GET …/oncall/now/``: each role's holder; instants in the schedule's zone with their offset."""
    zone = ZoneInfo(time_zone)
    return {
        "at": at.astimezone(zone).isoformat(),
        "time_zone": time_zone,
        **{role: holder_document(holder, zone) for role, holder in holders.items()},
    }


class FeedTokenSerializer(serializers.Serializer):
    """A new feed token, shown once: only its hash is stored."""

    token = serializers.CharField(read_only=True)
    url = serializers.URLField(read_only=True, help_text="The feed's address with the token, to subscribe to.")


class AtQuerySerializer(serializers.Serializer):
    """``?at=``: an instant; without an offset it is wall time in the schedule's zone. Default: now."""

    at = serializers.CharField(required=False)

    def validate_at(self, value: str) -> str:
        # An unencoded "+" in a query string arrives as a space: "2026-12-01T12:00:00 09:00".
        if len(value) > 6 and value[-6] == " " and value[-3] == ":":
            value = f"{value[:-6]}+{value[-5:]}"
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise serializers.ValidationError(
                "Enter an ISO 8601 instant, e.g. 2026-12-01T12:00:00+09:00 (encode '+' as %2B)."
            ) from None
        if problem := date_problem(moment, timezone.now()):
            raise serializers.ValidationError(problem)
        return value
