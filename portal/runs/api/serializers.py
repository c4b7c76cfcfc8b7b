"""What only the runs and approvals endpoints show or take: a run's log, a rejection's reason."""

from rest_framework import serializers

from portal.catalog.api.runs import RunSerializer
from provisioning.models import RunLogEntry


class RunLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = RunLogEntry
        fields = ["at", "level", "event", "message"]


class RunDetailSerializer(RunSerializer):
    log = RunLogSerializer(source="log_entries", many=True, read_only=True)

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "log"]


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Why; the requester reads it.")
