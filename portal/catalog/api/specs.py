"""``POST /api/v1/specs/apply/``: a service spec file applied as ``manage.py apply_spec`` applies it; and the
file's JSON schema at ``/api/schema/service-spec.json``, for editors."""

from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.core.api import SignedIn

from .specfiles import Conflict, SpecError, apply_spec_text, spec_file_schema


class SpecFileParser(BaseParser):
    """The body as the file's text; the view reads it as YAML or, for a JSON media type, as JSON."""

    media_type = "application/yaml"

    def parse(self, stream, media_type=None, parser_context=None) -> str:
        raw = stream.read() if stream is not None else b""
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("utf-8", errors="replace")


class YamlTextParser(SpecFileParser):
    media_type = "application/x-yaml"


class PlainYamlParser(SpecFileParser):
    media_type = "text/yaml"


class JsonTextParser(SpecFileParser):
    media_type = "application/json"


OUTCOME = inline_serializer(
    "SpecApplyResult",
    {
        "plan_only": serializers.BooleanField(),
        "documents": serializers.ListField(child=serializers.DictField()),
    },
)
PROBLEMS = inline_serializer(
    "SpecProblems", {"errors": serializers.ListField(child=serializers.DictField()), "detail": serializers.CharField()}
)


class SpecApplyView(APIView):
    """Apply a service spec file (YAML, or JSON with a JSON media type): every service it declares is created,
    replaced or left unchanged, planned, and its apply run requested (approvals as for ``apply``). All or nothing.
    201 when a service was created, 200 otherwise; 400 names each bad field by document and path."""

    permission_classes = [SignedIn]
    parser_classes = [SpecFileParser, YamlTextParser, PlainYamlParser, JsonTextParser]

    @extend_schema(
        request={"application/yaml": OpenApiTypes.STR, "application/json": OpenApiTypes.OBJECT},
        parameters=[OpenApiParameter("plan_only", bool, description="Plan and report; write nothing.")],
        responses={200: OUTCOME, 201: OUTCOME, 400: PROBLEMS, 409: PROBLEMS},
    )
    def post(self, request):
        plan_only = request.query_params.get("plan_only", "").lower() in ("1", "true", "yes")
        text = request.data if isinstance(request.data, str) else ""
        try:
            outcomes = apply_spec_text(
                text, json_text="json" in (request.content_type or ""), user=request.user, plan_only=plan_only
            )
        except SpecError as exc:
            detail = "Nothing was applied: the file has problems."
            return Response({"detail": detail, "errors": [p.as_dict() for p in exc.problems]}, status=400)
        except Conflict as exc:
            return Response({"detail": str(exc), "errors": []}, status=status.HTTP_409_CONFLICT)
        created = not plan_only and any(o.result == "created" for o in outcomes)
        return Response(
            {"plan_only": plan_only, "documents": [o.as_dict() for o in outcomes]},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


def service_spec_schema(request) -> JsonResponse:
    """The JSON schema of a service spec file (open to everyone, like the API's schema)."""
    return JsonResponse(spec_file_schema(), content_type="application/schema+json")
