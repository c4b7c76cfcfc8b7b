"""``/api/v1/scorecards/``: each active service's production-readiness card; ``/api/v1/team-scorecards/``: each
team's level; ``/api/v1/scorecard-rules/``: the rules with how many services pass and fail each. Anyone signed in
reads them, as they read services."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response

from portal.catalog.models import Team
from portal.core.api import DocumentsJSONRenderer, PlainDocuments, SignedIn

from ..cards import card_rows, cards_of, rule_counts, service_scorecard, store_overdue, team_cards
from .serializers import (
    RuleSummarySerializer,
    ScorecardQuerySerializer,
    ScorecardSerializer,
    TeamQuerySerializer,
    TeamScorecardSerializer,
)


def _query(serializer_class, request) -> dict:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


class ScorecardListView(GenericAPIView):
    """The active services' scorecards, worst level first by default (``sort``), paginated: each with its level,
    counts and failing rules, and with every rule's outcome when ``expand=rules`` (one query more). The serializer
    writes plain JSON data, which orjson encodes (a page of 100 expanded cards is some 380 kB)."""

    permission_classes = [SignedIn]
    renderer_classes = [DocumentsJSONRenderer, BrowsableAPIRenderer]
    serializer_class = ScorecardSerializer
    filter_backends = []

    @extend_schema(operation_id="v1_scorecards_list", parameters=[ScorecardQuerySerializer])
    def get(self, request):
        query = _query(ScorecardQuerySerializer, request)
        team = query.get("team", "")
        store_overdue(team)
        rows = card_rows(team, level=query.get("level", ""), failing=query.get("failing", ""), sort=query["sort"])
        page = cards_of(self.paginate_queryset(rows), details=query.get("expand") == "rules")
        return self.get_paginated_response(PlainDocuments(self.get_serializer(page, many=True).data))


class ScorecardDetailView(GenericAPIView):
    """One active service's scorecard."""

    permission_classes = [SignedIn]
    serializer_class = ScorecardSerializer
    filter_backends = []
    pagination_class = None

    @extend_schema(operation_id="v1_scorecards_retrieve")
    def get(self, request, name: str):
        card = service_scorecard(name)
        if card is None:
            raise Http404(f"No active service {name!r}.")
        return Response(self.get_serializer(card).data)


class TeamScorecardListView(GenericAPIView):
    """Each team's level (the lowest of its active services'), how many services reach each level and how many fail
    each rule, by slug, paginated."""

    permission_classes = [SignedIn]
    serializer_class = TeamScorecardSerializer
    filter_backends = []

    @extend_schema(operation_id="v1_team_scorecards_list", parameters=[TeamQuerySerializer])
    def get(self, request):
        team = _query(TeamQuerySerializer, request).get("team")
        teams = Team.objects.filter(slug=team) if team else Team.objects.order_by("slug")
        store_overdue(team or "")
        page = team_cards(self.paginate_queryset(teams))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class ScorecardRuleListView(GenericAPIView):
    """The rules, lowest level first, each with how many active services pass it, fail it and to how many it does
    not apply."""

    permission_classes = [SignedIn]
    serializer_class = RuleSummarySerializer
    filter_backends = []
    pagination_class = None

    @extend_schema(
        operation_id="v1_scorecard_rules_list",
        parameters=[TeamQuerySerializer],
        responses=RuleSummarySerializer(many=True),
    )
    def get(self, request):
        team = _query(TeamQuerySerializer, request).get("team")
        store_overdue(team or "")
        rows = [
            {
                "id": rule.id,
                "level": rule.level,
                "title": rule.title,
                "why": rule.why,
                "applies_to": rule.applies_to,
                **counts,
            }
            for rule, counts in rule_counts(team or "")
        ]
        return Response(self.get_serializer(rows, many=True).data)
