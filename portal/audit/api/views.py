"""The audit log for SREs: filter, page, export as CSV."""

import csv

import django_filters
from django.http import StreamingHttpResponse
from rest_framework import serializers, viewsets
from rest_framework.decorators import action

from portal.core.api import BoundedDateTimeFilter, SignedIn
from portal.core.permissions import can_read_audit_log

from ..models import AuditEvent


class AuditLogAccess(SignedIn):
    message = "Only platform SREs may read the audit log."

    def has_permission(self, request, view) -> bool:
        return can_read_audit_log(request.user)


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "at",
            "actor_name",
            "action",
            "object_type",
            "object_key",
            "team",
            "before",
            "after",
            "detail",
            "source",
            "ip_address",
        ]


class AuditFilterSet(django_filters.FilterSet):
    actor = django_filters.CharFilter(field_name="actor_name")
    action = django_filters.CharFilter(field_name="action", lookup_expr="startswith")
    object_type = django_filters.CharFilter()
    object_key = django_filters.CharFilter()
    team = django_filters.CharFilter()
    since = BoundedDateTimeFilter(field_name="at", lookup_expr="gte")
    until = BoundedDateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["actor", "action", "object_type", "object_key", "team", "since", "until"]


class _Echo:
    def write(self, value):
        return value


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = AuditEvent.objects.all()
    serializer_class = AuditEventSerializer
    filterset_class = AuditFilterSet
    permission_classes = [AuditLogAccess]

    @action(detail=False, methods=["get"], url_path="export")
    def export(self, request):
        """Every matching event as CSV (no paging)."""
        events = self.filter_queryset(self.get_queryset()).iterator(chunk_size=500)
        writer = csv.writer(_Echo())
        header = [
            "at",
            "actor",
            "action",
            "object_type",
            "object_key",
            "team",
            "detail",
            "source",
            "ip_address",
            "before",
            "after",
        ]

        def rows():
            yield writer.writerow(header)
            for e in events:
                yield writer.writerow(
                    [
                        e.at.isoformat(),
                        e.actor_name,
                        e.action,
                        e.object_type,
                        e.object_key,
                        e.team,
                        e.detail,
                        e.source,
                        e.ip_address or "",
                        e.before,
                        e.after,
                    ]
                )

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
        return response
