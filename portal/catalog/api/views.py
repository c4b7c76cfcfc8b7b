"""Teams and services, plus the provisioning actions on a service (plan, apply, manifests, drift check)."""

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response

from portal.core.api import DocumentsJSONRenderer, PlainDocuments
from provisioning.errors import PermanentError, RunInProgress, TemporaryError
from provisioning.models import Plan
from provisioning.operations import (
    apply_service,
    apply_without_removed_routes,
    destroy_service,
    drift_check_service,
    plan_service,
)
from provisioning.queries import rendered_yaml, run_queryset, service_analysis
from provisioning.scopes import service_key

from .. import services
from ..documents import current_document, merge_patch, service_documents, service_list_queryset
from ..filtersets import ServiceFilterSet, TeamFilterSet
from ..models import Membership, Service, Team
from ..permissions import can_edit_team_content, can_force_conflicts
from .permissions import MembershipAccess, ServiceAccess, TeamAccess
from .runs import AnalysisSerializer, ApplyRequestSerializer, PlanSerializer, RunSerializer
from .serializers import MembershipSerializer, ServiceSerializer, TeamSerializer


def conflict(message: str, **extra) -> Response:
    return Response({"detail": message, **extra}, status=status.HTTP_409_CONFLICT)


def etag(revision: int) -> str:
    return f'"r{revision}"'


def stale_write(request, current_revision: int) -> bool:
    """A write based on an older read: If-Match (ETag) or a ``revision`` in the body that is not current."""
    if_match = request.headers.get("If-Match")
    if if_match and if_match != "*" and etag(current_revision) not in [v.strip() for v in if_match.split(",")]:
        return True
    sent = request.data.get("revision") if isinstance(request.data, dict) else None
    return sent is not None and str(sent) != str(current_revision)


class TeamViewSet(viewsets.ModelViewSet):
    queryset = Team.objects.prefetch_related("memberships__user")
    serializer_class = TeamSerializer
    filterset_class = TeamFilterSet
    permission_classes = [TeamAccess]
    lookup_field = "slug"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def perform_create(self, serializer):
        try:
            serializer.instance = services.create_team(serializer.validated_data, owner=self.request.user)
        except services.Taken as exc:
            raise ValidationError(exc.errors) from None

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        response["ETag"] = etag(response.data["revision"])
        return response

    def partial_update(self, request, *args, **kwargs):
        with transaction.atomic():
            team = get_object_or_404(Team.objects.select_for_update(), slug=kwargs["slug"])
            self.check_object_permissions(request, team)
            if stale_write(request, team.revision):
                return conflict("The team changed since you read it; reload and try again.", revision=team.revision)
            serializer = self.get_serializer(team, data=request.data, partial=True)
            serializer.is_valid(raise_exception=True)
            services.update_team(team, serializer.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=team.pk)).data)


class MembershipViewSet(viewsets.GenericViewSet):
    """``/teams/{slug}/members/``: who is in the team. Owners and SREs add, change and remove members; the
    IdP's memberships follow its groups; a team keeps at least one owner."""

    serializer_class = MembershipSerializer
    permission_classes = [MembershipAccess]
    pagination_class = None
    filter_backends = []

    def get_queryset(self):
        return (
            Membership.objects.filter(team__slug=self.kwargs["slug"])
            .select_related("user", "team")
            .order_by("user__username")
        )

    def _team(self, lock: bool = False) -> Team:
        teams = Team.objects.select_for_update() if lock else Team.objects.all()
        team = get_object_or_404(teams, slug=self.kwargs["slug"])
        self.check_object_permissions(self.request, team)
        return team

    def _membership(self, team: Team) -> Membership:
        return get_object_or_404(self.get_queryset().filter(team=team), user__username=self.kwargs["username"])

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "team": getattr(self, "team", None)}

    def list(self, request, slug=None):
        self._team()
        return Response(self.get_serializer(self.get_queryset(), many=True).data)

    def retrieve(self, request, slug=None, username=None):
        return Response(self.get_serializer(self._membership(self._team())).data)

    def create(self, request, slug=None):
        with transaction.atomic():
            self.team = self._team(lock=True)
            serializer = self.get_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            membership = services.add_member(self.team, data["user"]["username"], data["role"])
        return Response(self.get_serializer(membership).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, slug=None, username=None):
        # The team row is locked so two owners demoting each other cannot leave the team without one.
        with transaction.atomic():
            self.team = self._team(lock=True)
            membership = self._membership(self.team)
            serializer = self.get_serializer(membership, data=request.data, partial=True)
            serializer.is_valid(raise_exception=True)
            if role := serializer.validated_data.get("role"):
                try:
                    membership = services.change_role(membership, role)
                except services.ChangeRefused as exc:
                    return conflict(str(exc))
        return Response(self.get_serializer(membership).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, slug=None, username=None):
        with transaction.atomic():
            self.team = self._team(lock=True)
            try:
                services.remove_member(self._membership(self.team))
            except services.ChangeRefused as exc:
                return conflict(str(exc))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ServiceViewSet(viewsets.ModelViewSet):
    queryset = Service.objects.select_related("team")
    renderer_classes = [DocumentsJSONRenderer, BrowsableAPIRenderer]
    serializer_class = ServiceSerializer
    filterset_class = ServiceFilterSet
    permission_classes = [ServiceAccess]
    lookup_field = "name"

    def get_queryset(self):
        # A page of documents reads each service's stored spec and live columns (documents.service_documents).
        if self.action == "list":
            return service_list_queryset()
        return super().get_queryset()

    def _require_team(self, team: Team) -> None:
        if not can_edit_team_content(self.request.user, team):
            raise PermissionDenied(f"You are not a member of team {team.slug!r}; ask one of its owners.")

    def perform_create(self, serializer):
        self._require_team(serializer.validated_data["team"])
        try:
            serializer.instance = services.create_service(
                serializer.validated_data, actor=self.request.user, request=self.request
            )
        except services.Taken as exc:
            raise ValidationError(exc.errors) from None

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(PlainDocuments(service_documents(page)))

    def retrieve(self, request, *args, **kwargs):
        document = current_document(self.get_object())
        return Response(document, headers={"ETag": etag(document["revision"])})

    @extend_schema(
        responses={200: ServiceSerializer, 201: ServiceSerializer},
        description="Declare the service: register it (201) or replace its whole document (200); the document it "
        "holds already changes nothing (200, the same revision). Honours If-Match.",
    )
    def update(self, request, *args, **kwargs):
        if not kwargs.pop("partial", False):
            return self._declare(request, kwargs["name"])
        with transaction.atomic():
            service = get_object_or_404(Service.objects.select_for_update().select_related("team"), name=kwargs["name"])
            self.check_object_permissions(request, service)
            if stale_write(request, service.revision):
                return conflict(
                    "The service changed since you read it; reload and try again.", revision=service.revision
                )
            document = merge_patch(current_document(service), request.data)
            serializer = self.get_serializer(service, data=document)
            serializer.is_valid(raise_exception=True)
            if serializer.validated_data["team"] != service.team:
                self._require_team(serializer.validated_data["team"])
            try:
                service = services.update_service(
                    service, serializer.validated_data, actor=request.user, request=request
                )
            except services.Taken as exc:
                raise ValidationError(exc.errors) from None
        return Response(current_document(service), headers={"ETag": etag(service.revision)})

    def _declare(self, request, name: str) -> Response:
        if not isinstance(request.data, dict):
            return Response({"non_field_errors": ["Send the service's document as an object."]}, status=400)
        if request.data.get("name", name) != name:
            return Response({"name": [f"The document names {request.data['name']!r}, the URL {name!r}."]}, status=400)
        try:
            with transaction.atomic():
                service = Service.objects.select_for_update().select_related("team").filter(name=name).first()
                if service is not None:
                    self.check_object_permissions(request, service)
                    if stale_write(request, service.revision):
                        return conflict(
                            "The service changed since you read it; reload and try again.", revision=service.revision
                        )
                elif request.headers.get("If-Match"):
                    return conflict(
                        f"Service {name!r} does not exist; send its document without If-Match to register it."
                    )
                serializer = self.get_serializer(service, data={**request.data, "name": name})
                serializer.is_valid(raise_exception=True)
                if service is None or serializer.validated_data["team"] != service.team:
                    self._require_team(serializer.validated_data["team"])
                service, outcome = services.declare_service(
                    service, serializer.validated_data, actor=request.user, request=request
                )
        except IntegrityError:
            return conflict(f"Service {name!r} was registered meanwhile; read it and try again.")
        headers = {"ETag": etag(service.revision)}
        if outcome == services.CREATED:
            headers["Location"] = request.build_absolute_uri()
        created = outcome == services.CREATED
        return Response(
            current_document(service),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
            headers=headers,
        )

    @extend_schema(request=None, responses={202: RunSerializer})
    def destroy(self, request, *args, **kwargs):
        """Delete everything the service owns, then the service (kept, marked, if that fails).

        Other services' header routes to it are listed in a 409 unless ``?confirm=routes``: then they are removed
        from those services in the same commit (each an audited edit of its service), and a routing service
        whose last apply differs only by them is applied again at once (``routes_applied``)."""
        service = self.get_object()
        with transaction.atomic():
            routes = services.routes_to(service)
            if routes and request.query_params.get("confirm") != "routes":
                return conflict(
                    f"{len(routes)} route(s) of other services send requests to {service.name}; deleting it "
                    "removes them from those services. Repeat with ?confirm=routes to go ahead.",
                    routes=routes,
                )
            changed = services.remove_routes_to(service, actor=request.user, request=request) if routes else []
            try:
                run = destroy_service(service, request.user)
            except RunInProgress as exc:
                transaction.set_rollback(True)
                return conflict(str(exc), run=exc.run.pk)
            except PermanentError as exc:
                transaction.set_rollback(True)
                return conflict(str(exc))
        body = RunSerializer(run_queryset().get(pk=run.pk)).data
        if routes:
            applied = {}
            for other in changed:
                follow_up = apply_without_removed_routes(other, request.user)
                if follow_up is not None:
                    applied[other.name] = follow_up.pk
            body = {**body, "routes_removed": routes, "routes_applied": applied}
        return Response(body, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: PlanSerializer})
    @action(detail=True, methods=["post"])
    def plan(self, request, name=None):
        """What applying would change, resource by resource and field by field. Nothing is changed."""
        service = self.get_object()
        try:
            plan = plan_service(service, request.user)
        except TemporaryError as exc:
            return Response({"detail": f"Could not read the current state: {exc}"}, status=503)
        except PermanentError as exc:
            return conflict(str(exc))
        return Response(PlanSerializer(plan).data)

    @extend_schema(request=ApplyRequestSerializer, responses={202: RunSerializer})
    @action(detail=True, methods=["post"])
    def apply(self, request, name=None):
        """Queue an apply (202). Internet exposure waits in awaiting_approval for an SRE."""
        service = self.get_object()
        body = ApplyRequestSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        if body.validated_data["force"] and not can_force_conflicts(request.user):
            raise PermissionDenied("Only SREs may force a take-over of fields another field manager owns.")
        plan = None
        if plan_id := body.validated_data.get("plan"):
            plan = Plan.objects.filter(pk=plan_id, scope=service_key(service.name)).first()
            if plan is None:
                return Response({"plan": [f"No plan #{plan_id} for {service.name}."]}, status=400)
        try:
            run = apply_service(service, request.user, plan=plan, force=body.validated_data["force"])
        except RunInProgress as exc:
            return conflict(str(exc), run=exc.run.pk)
        except TemporaryError as exc:
            return Response({"detail": f"Could not read the current state: {exc}"}, status=503)
        except PermanentError as exc:
            return conflict(str(exc))
        return Response(RunSerializer(run_queryset().get(pk=run.pk)).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: RunSerializer})
    @action(detail=True, methods=["post"], url_path="drift-check")
    def drift_check(self, request, name=None):
        """Compare what is recorded with what exists; differences are marked on the inventory."""
        service = self.get_object()
        try:
            run = drift_check_service(service, request.user)
        except RunInProgress as exc:
            return conflict(str(exc), run=exc.run.pk)
        return Response(RunSerializer(run_queryset().get(pk=run.pk)).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=AnalysisSerializer)
    @action(detail=True, methods=["get"])
    def analysis(self, request, name=None):
        """The wiring checks' findings on the service's desired state, analyzed with the platform layer and the
        services it routes to and from. Errors block its apply."""
        service = self.get_object()
        return Response({"findings": service_analysis(service.name)})

    @extend_schema(responses={(200, "application/yaml"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"])
    def manifests(self, request, name=None):
        """The rendered Kubernetes objects as YAML (``?provider=aws`` for the AWS resources); secrets hidden."""
        service = self.get_object()
        provider = request.query_params.get("provider", "kubernetes")
        if provider not in ("kubernetes", "aws"):
            return Response({"provider": ["Choose 'kubernetes' or 'aws'."]}, status=400)
        return HttpResponse(rendered_yaml(service.name, provider), content_type="application/yaml; charset=utf-8")
