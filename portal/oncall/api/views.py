"""On-call API: the schedule document, who is on call at an instant, the iCalendar feed and its token."""

from datetime import timedelta

from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from portal.audit.log import record
from portal.catalog.api.permissions import TeamContentAccess
from portal.catalog.models import Team
from portal.core.credentials import check_feed_token

from .. import schedule as pure
from ..current import holders, team_schedule, to_schedule
from ..models import Schedule
from .serializers import AtQuerySerializer, FeedTokenSerializer, ScheduleSerializer, now_document

# What the feed holds: recent shifts (so "who was on call last week" still shows) and the coming months.
FEED_PAST = timedelta(days=30)
FEED_FUTURE = timedelta(days=180)


class FeedAccess(BasePermission):
    """Signed in, or the team's feed token in ``?token=`` (calendar apps cannot send an auth header)."""

    def has_permission(self, request, view) -> bool:
        if request.user and request.user.is_authenticated:
            return True
        token = request.query_params.get("token")
        if not token:
            return False
        row = Schedule.objects.filter(team__slug=view.kwargs["slug"]).only("feed_token_hash").first()
        check_feed_token(request, lambda: row is not None and row.feed_token_matches(token))
        return True


class ICalendarRenderer(BaseRenderer):
    """Lets clients that accept only text/calendar through content negotiation; errors are JSON text."""

    media_type = "text/calendar"
    format = "ics"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return data if isinstance(data, bytes) else JSONRenderer().render(data)


class TeamScopedView(GenericAPIView):
    queryset = Team.objects.all()
    lookup_field = "slug"
    permission_classes = [TeamContentAccess]
    pagination_class = None
    filter_backends = []

    def get_team(self) -> Team:
        return self.get_object()

    def get_schedule(self, team: Team) -> Schedule:
        row = team_schedule(team)
        if row is None:
            raise NotFound(f"Team {team.slug!r} has no on-call schedule yet; PUT one.")
        return row

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "team": getattr(self, "team", None)}


class ScheduleView(TeamScopedView):
    """``GET/PUT /api/v1/teams/{slug}/oncall/``: the whole schedule; PUT replaces it."""

    serializer_class = ScheduleSerializer

    def get(self, request, slug: str) -> Response:
        self.team = self.get_team()
        return Response(self.get_serializer(self.get_schedule(self.team)).data)

    def put(self, request, slug: str) -> Response:
        self.team = self.get_team()
        existing = Schedule.objects.filter(team=self.team).first()
        before = self.get_serializer(self.get_schedule(self.team)).data if existing else None
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save(user=request.user)
        body = self.get_serializer(self.get_schedule(self.team)).data
        record(
            "oncall.update" if existing else "oncall.create",
            "oncall_schedule",
            self.team.slug,
            request=request,
            team=self.team.slug,
            before=before,
            after=body,
        )
        return Response(body, status=status.HTTP_200_OK if existing else status.HTTP_201_CREATED)


class OnCallNowView(TeamScopedView):
    """``GET /api/v1/teams/{slug}/oncall/now/?at=``: who holds each role at an instant (default now)."""

    serializer_class = AtQuerySerializer

    @extend_schema(
        parameters=[OpenApiParameter("at", OpenApiTypes.STR, description="ISO 8601 instant; default now.")],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, slug: str) -> Response:
        self.team = self.get_team()
        row = self.get_schedule(self.team)
        query = self.get_serializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        value = query.validated_data.get("at")
        at = pure.parse_instant(value, row.time_zone) if value else timezone.now()
        return Response(now_document(row.time_zone, at, holders(to_schedule(row), at)))


class FeedTokenView(TeamScopedView):
    """``POST …/oncall/feed-token/`` issues a new feed token (shown once); ``DELETE`` turns the feed off."""

    serializer_class = FeedTokenSerializer

    @extend_schema(request=None, responses={201: FeedTokenSerializer})
    def post(self, request, slug: str) -> Response:
        self.team = self.get_team()
        token = self.get_schedule(self.team).issue_feed_token()
        url = f"{settings.PORTAL_PUBLIC_URL.rstrip('/')}{reverse('oncall-ics', kwargs={'slug': slug})}?token={token}"
        return Response(self.get_serializer({"token": token, "url": url}).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, slug: str) -> Response:
        self.team = self.get_team()
        self.get_schedule(self.team).revoke_feed_token()
        return Response(status=status.HTTP_204_NO_CONTENT)


class CalendarFeedView(TeamScopedView):
    """``GET /api/v1/teams/{slug}/oncall.ics``: the schedule as an iCalendar feed to subscribe to."""

    permission_classes = [FeedAccess]
    renderer_classes = [JSONRenderer, ICalendarRenderer]

    @extend_schema(
        operation_id="teams_oncall_ics_retrieve",
        parameters=[OpenApiParameter("token", OpenApiTypes.STR, description="The team's feed token.")],
        responses={(200, "text/calendar"): OpenApiTypes.BINARY},
    )
    def get(self, request, slug: str) -> HttpResponse:
        team = self.get_team()
        row = self.get_schedule(team)
        now = timezone.now()
        body = pure.to_ical(to_schedule(row), team.slug, now - FEED_PAST, now + FEED_FUTURE, now)
        response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = f'inline; filename="{team.slug}-oncall.ics"'
        # The URL may carry the token: keep the answer out of shared caches.
        response["Cache-Control"] = "private, max-age=300"
        return response
