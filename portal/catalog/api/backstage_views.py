"""``/api/v1/backstage/``: the catalog as Backstage entities, and catalog-info.yaml imported (``backstage``)."""

import yaml
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.core.api import SignedIn

from .backstage import export_entities, import_entities
from .specfiles import SpecError
from .specs import JsonTextParser, PlainYamlParser, SpecFileParser, YamlTextParser


class YamlDocumentsRenderer(BaseRenderer):
    """A list of entities as YAML documents, as catalog-info.yaml holds them."""

    media_type = "application/yaml"
    format = "yaml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if isinstance(data, list):
            return yaml.safe_dump_all(data, sort_keys=False, allow_unicode=True).encode()
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode()


class BackstageEntitiesView(APIView):
    """Every team as a Backstage Group and every service as a Component: a JSON list, or YAML documents with
    ``Accept: application/yaml`` (a catalog-info.yaml for Backstage's URL reader)."""

    permission_classes = [SignedIn]
    renderer_classes = [JSONRenderer, YamlDocumentsRenderer]

    @extend_schema(
        responses={
            (200, "application/json"): {"type": "array", "items": {"type": "object"}},
            (200, "application/yaml"): OpenApiTypes.STR,
        }
    )
    def get(self, request):
        return Response(export_entities())


IMPORT_RESULT = inline_serializer(
    "BackstageImportResult",
    {
        "dry_run": serializers.BooleanField(),
        "changes": serializers.ListField(child=serializers.DictField()),
        "skipped": serializers.ListField(child=serializers.DictField()),
    },
)


class BackstageImportView(APIView):
    """Import catalog-info.yaml documents (YAML, or a JSON list): Groups as teams, service Components as services
    with the portal's defaults. Team owners import into their teams, SREs into all. All or nothing."""

    permission_classes = [SignedIn]
    parser_classes = [SpecFileParser, YamlTextParser, PlainYamlParser, JsonTextParser]

    @extend_schema(
        request={"application/yaml": OpenApiTypes.STR, "application/json": OpenApiTypes.OBJECT},
        parameters=[OpenApiParameter("dry_run", bool, description="Report what would change; write nothing.")],
        responses={200: IMPORT_RESULT},
    )
    def post(self, request):
        dry_run = request.query_params.get("dry_run", "").lower() in ("1", "true", "yes")
        text = request.data if isinstance(request.data, str) else ""
        try:
            changes, skipped = import_entities(
                text, json_text="json" in (request.content_type or ""), user=request.user, dry_run=dry_run
            )
        except SpecError as exc:
            detail = "Nothing was imported: the file has problems."
            return Response({"detail": detail, "errors": [p.as_dict() for p in exc.problems]}, status=400)
        return Response(
            {
                "dry_run": dry_run,
                "changes": [c.as_dict() for c in changes],
                "skipped": [s.as_dict() for s in skipped],
            }
        )
