"""The platform layer for SREs: its settings, rendered manifests, plan and apply."""

from django.db import transaction
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.catalog.api.permissions import PlatformAccess, PlatformSettingsAccess
from portal.catalog.api.runs import AnalysisSerializer, PlanSerializer, RunSerializer
from portal.catalog.api.serializers import PlatformSettingsSerializer
from portal.catalog.models import PlatformSettings
from provisioning.errors import PermanentError, RunInProgress, TemporaryError
from provisioning.operations import apply_platform, plan_platform
from provisioning.queries import platform_outputs, portal_analysis, rendered_platform_yaml, run_queryset


class PlatformSettingsView(APIView):
    """The platform's one row of settings (cluster, zones, networks, corp CIDRs), with the read-only ``outputs``
    of its shared AWS pieces from the inventory."""

    permission_classes = [PlatformSettingsAccess]
    serializer_class = PlatformSettingsSerializer

    def get(self, request):
        row = PlatformSettings.load()
        return Response(PlatformSettingsSerializer(row, context={"outputs": platform_outputs(row)}).data)

    @extend_schema(request=PlatformSettingsSerializer, responses=PlatformSettingsSerializer)
    def patch(self, request):
        with transaction.atomic():
            row = PlatformSettings.objects.select_for_update().get(pk=PlatformSettings.load().pk)
            serializer = PlatformSettingsSerializer(row, data=request.data, partial=True, context={"request": request})
            serializer.is_valid(raise_exception=True)
            serializer.save()
        serializer.context["outputs"] = platform_outputs(row)
        return Response(serializer.data)


class PlatformManifestsView(APIView):
    permission_classes = [PlatformAccess]

    @extend_schema(responses={(200, "application/yaml"): OpenApiTypes.STR})
    def get(self, request):
        """The platform layer's rendered Kubernetes objects as YAML."""
        return HttpResponse(rendered_platform_yaml(), content_type="application/yaml; charset=utf-8")


class AnalysisView(APIView):
    permission_classes = [PlatformAccess]

    @extend_schema(responses=AnalysisSerializer)
    def get(self, request):
        """The wiring checks' findings on the portal's whole desired state: the platform layer and every active
        service, with their AWS resources."""
        return Response({"findings": portal_analysis()})


class PlatformPlanView(APIView):
    permission_classes = [PlatformAccess]

    @extend_schema(request=None, responses=PlanSerializer)
    def post(self, request):
        """What applying the platform layer would change. Nothing is changed."""
        try:
            plan = plan_platform(request.user)
        except TemporaryError as exc:
            return Response({"detail": f"Could not read the current state: {exc}"}, status=503)
        return Response(PlanSerializer(plan).data)


class PlatformApplyView(APIView):
    permission_classes = [PlatformAccess]

    @extend_schema(request=None, responses={202: RunSerializer})
    def post(self, request):
        """Plan now and wait for a second SRE's approval (202 with the run)."""
        try:
            run = apply_platform(request.user)
        except RunInProgress as exc:
            return Response({"detail": str(exc), "run": exc.run.pk}, status=status.HTTP_409_CONFLICT)
        except TemporaryError as exc:
            return Response({"detail": f"Could not read the current state: {exc}"}, status=503)
        except PermanentError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(RunSerializer(run_queryset().get(pk=run.pk)).data, status=status.HTTP_202_ACCEPTED)
