"""Runs and approvals. Planning and applying a service are actions on the service endpoint."""

from django_filters import rest_framework as filters
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from portal.catalog.api.permissions import ApprovalAccess, RunAccess
from portal.catalog.api.runs import RunSerializer
from provisioning.choices import RunAction, RunStatus
from provisioning.errors import PermanentError
from provisioning.models import ProvisioningRun
from provisioning.operations import SELF_APPROVAL, approve_run, cancel_run, reject_run
from provisioning.queries import run_queryset
from provisioning.scopes import service_key

from .serializers import RejectSerializer, RunDetailSerializer


class RunFilterSet(filters.FilterSet):
    service = filters.CharFilter(method="by_service", label="Service name")
    status = filters.ChoiceFilter(choices=RunStatus.choices)
    action = filters.ChoiceFilter(choices=RunAction.choices)

    class Meta:
        model = ProvisioningRun
        fields = ["service", "status", "action"]

    def by_service(self, queryset, name, value):
        return queryset.filter(scope=service_key(value))


class RunViewSet(viewsets.ReadOnlyModelViewSet):
    """Provisioning runs: their plan, steps with timings and errors, and (in detail) the log."""

    queryset = run_queryset()
    filterset_class = RunFilterSet
    permission_classes = [RunAccess]

    def get_serializer_class(self):
        return RunDetailSerializer if self.action == "retrieve" else RunSerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("log_entries")
        return queryset

    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        run = self.get_object()
        try:
            cancel_run(run, request.user, reason=f"cancelled by {request.user.username}")
        except PermanentError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(RunSerializer(run).data)


class ApprovalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Runs waiting for an SRE: exposing a service to the internet or changing its public hostnames."""

    serializer_class = RunSerializer
    permission_classes = [ApprovalAccess]

    def get_queryset(self):
        return run_queryset().filter(status=RunStatus.AWAITING_APPROVAL).order_by("created_at")

    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        run = self.get_object()
        try:
            run = approve_run(run, request.user)
        except PermanentError as exc:
            code = status.HTTP_403_FORBIDDEN if exc.code == SELF_APPROVAL else status.HTTP_409_CONFLICT
            return Response({"detail": str(exc)}, status=code)
        return Response(RunSerializer(run_queryset().get(pk=run.pk)).data, status=status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["post"], serializer_class=RejectSerializer)
    def reject(self, request, pk=None):
        run = self.get_object()
        body = RejectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            run = reject_run(run, request.user, body.validated_data["reason"])
        except PermanentError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(RunSerializer(run_queryset().get(pk=run.pk)).data)
