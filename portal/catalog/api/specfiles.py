"""Service spec files: a team keeps its services' documents in its own repository and its CI applies them.

A file (``service.yaml``) holds one or more YAML documents, or JSON (an object or a list of them)::

    apiVersion: portal.io/v1
    kind: Service
    metadata: {name: ledger, team: payments}
    spec: {...}            # the API's document without name and team

Applying a file validates each document with the API's serializer, declares it through the catalog's write path
(``services.declare_service``: created, replaced or unchanged), plans each service and asks for its apply run as
``POST /services/{name}/apply/`` does, so approvals hold as there. It is all or nothing: with one bad document
nothing is written, and every problem names its document and its path in the file (``spec.traffic.hash_on``).
``manage.py apply_spec`` and ``POST /api/v1/specs/apply/`` both call ``apply_spec_text``.
"""

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import yaml
from django.db import transaction
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied

from provisioning.choices import ChangeAction
from provisioning.errors import PermanentError, RunInProgress, TemporaryError
from provisioning.operations import apply_service, plan_service
from provisioning.queries import active_run, run_queryset
from provisioning.scopes import service_key
from provisioning.spec import jsonable

from .. import services
from ..models import Service
from ..permissions import can_edit_team_content
from .runs import PlanSerializer, RunSerializer
from .serializers import ServiceSerializer

API_VERSION = "portal.io/v1"
KIND = "Service"
METADATA_FIELDS = ("name", "team")


@dataclass(frozen=True)
class Problem:
    """Why a document of the file cannot be applied: its index in the file and the path of the field."""

    document: int
    path: str
    message: str
    service: str = ""

    def __str__(self) -> str:
        where = f"document {self.document}" + (f" ({self.service})" if self.service else "")
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"document": self.document, "path": self.path, "message": self.message}


class SpecError(Exception):
    """The file cannot be applied; nothing was written."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class Conflict(Exception):
    """A run of a service is in progress (or the state could not be read): nothing was written, try again."""


@dataclass
class Outcome:
    """What applying one document did (or, planning only, would do)."""

    document: int
    service: str
    result: str  # services.CREATED / UPDATED / UNCHANGED
    revision: int
    plan: dict | None = None
    run: dict | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "document": self.document,
            "service": self.service,
            "result": self.result,
            "revision": self.revision,
            "plan": self.plan,
            "run": self.run,
        }


# --- reading ---------------------------------------------------------------------------------------------------


def parse_documents(text: str, *, json_text: bool = False) -> list[Any]:
    """The file's documents: YAML documents, or JSON (an object, or a list of objects)."""
    try:
        if json_text:
            data = json.loads(text)
            return data if isinstance(data, list) else [data]
        return [d for d in yaml.safe_load_all(text) if d is not None]
    except json.JSONDecodeError as exc:
        raise SpecError([Problem(0, "", f"not JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}")]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError([Problem(0, "", f"not YAML: {where}{problem}")]) from exc


def service_document(index: int, declared: Any) -> tuple[dict[str, Any], list[Problem]]:
    """A spec document as the API's service document, with the problems of its envelope and unknown fields."""
    if not isinstance(declared, dict):
        return {}, [Problem(index, "", "must be an object with apiVersion, kind, metadata and spec")]
    metadata, spec = declared.get("metadata"), declared.get("spec", {})
    name = metadata.get("name", "") if isinstance(metadata, dict) else ""
    name = name if isinstance(name, str) else ""
    problems = []

    def problem(path: str, message: str) -> None:
        problems.append(Problem(index, path, message, name))

    if declared.get("apiVersion") != API_VERSION:
        problem("apiVersion", f"must be {API_VERSION!r}, not {declared.get('apiVersion')!r}")
    if declared.get("kind") != KIND:
        problem("kind", f"must be {KIND!r}, not {declared.get('kind')!r}")
    for key in declared:
        if key not in ("apiVersion", "kind", "metadata", "spec"):
            problem(key, "unknown field")
    if not isinstance(metadata, dict):
        problem("metadata", "must be an object with name and team")
        metadata = {}
    for key in metadata:
        if key not in METADATA_FIELDS:
            problem(f"metadata.{key}", "unknown field")
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        problem("spec", "must be an object (the service's document without name and team)")
        spec = {}
    for key in METADATA_FIELDS:
        if key in spec:
            problem(f"spec.{key}", f"belongs in metadata.{key}")
    writable = ServiceSerializer()
    for path in unknown_fields(writable, {k: v for k, v in spec.items() if k not in METADATA_FIELDS}, "spec"):
        problem(path, "unknown field")
    document = {**spec, **{k: metadata[k] for k in METADATA_FIELDS if k in metadata}}
    return document, problems


def unknown_fields(serializer: serializers.Serializer, data: Any, path: str) -> list[str]:
    """Paths of keys the serializer (and its nested serializers) would silently ignore: typos, in a file."""
    if not isinstance(data, dict):
        return []
    writable = {name: f for name, f in serializer.fields.items() if not f.read_only}
    found = [f"{path}.{key}" for key in data if key not in writable]
    for name, value in data.items():
        nested = writable.get(name)
        if isinstance(nested, serializers.ListSerializer) and isinstance(value, list):
            for i, item in enumerate(value):
                found += unknown_fields(nested.child, item, f"{path}.{name}[{i}]")
        elif isinstance(nested, serializers.Serializer):
            found += unknown_fields(nested, value, f"{path}.{name}")
    return found


def error_paths(detail: Any, path: str) -> list[tuple[str, str]]:
    """A serializer's errors (nested dicts and lists) as (path, message) pairs."""
    if isinstance(detail, dict):
        pairs = []
        for key, value in detail.items():
            if key == "non_field_errors":
                sub = path
            elif isinstance(key, int):
                sub = f"{path}[{key}]"
            else:
                sub = f"{path}.{key}" if path else str(key)
            pairs += error_paths(value, sub)
        return pairs
    if isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            return [(path, str(item)) for item in detail]
        pairs = []
        for i, item in enumerate(detail):
            pairs += error_paths(item, f"{path}[{i}]") if item else []
        return pairs
    return [(path, str(detail))]


def spec_path(field_path: str) -> str:
    """A path in the API's document as a path in the spec file."""
    head = field_path.split(".", 1)[0].split("[", 1)[0]
    return f"metadata.{field_path}" if head in METADATA_FIELDS else f"spec.{field_path}" if field_path else "spec"


# --- applying --------------------------------------------------------------------------------------------------


def apply_spec_text(text: str, *, json_text: bool = False, user=None, plan_only: bool = False) -> list[Outcome]:
    """Apply a spec file's documents in order (a later one may name an earlier one as its caller or route target):
    each declared, planned, and its apply run requested when the plan changes anything. ``user``: who asks (the
    API's caller, whose team memberships are checked; None for the operator's command). ``plan_only``: roll it all
    back, keeping what would be done."""
    documents = parse_documents(text, json_text=json_text)
    if not documents:
        raise SpecError([Problem(0, "", "the file holds no document")])
    try:
        with transaction.atomic():
            outcomes = _apply(documents, user, plan_only)
            if plan_only:
                transaction.set_rollback(True)
    except RunInProgress as exc:
        raise Conflict(f"{exc}; nothing was written, apply the file again when it has finished") from exc
    except TemporaryError as exc:
        raise Conflict(f"Could not read the current state: {exc}; nothing was written") from exc
    except PermanentError as exc:
        raise Conflict(f"{exc}; nothing was written") from exc
    return outcomes


def _apply(documents: list[Any], user, plan_only: bool) -> list[Outcome]:
    problems: list[Problem] = []
    declared: list[tuple[int, Service, str]] = []
    for index, raw in enumerate(documents):
        document, found = service_document(index, raw)
        problems += found
        if found:
            continue
        name = document.get("name")
        existing = Service.objects.select_for_update().select_related("team").filter(name=name).first()
        serializer = ServiceSerializer(existing, data=document)
        if not serializer.is_valid():
            problems += [
                Problem(index, spec_path(path), message, str(name))
                for path, message in error_paths(serializer.errors, "")
            ]
            continue
        _authorize(user, existing, serializer.validated_data["team"])
        service, result = services.declare_service(existing, serializer.validated_data, actor=user)
        declared.append((index, service, result))
    if problems:
        raise SpecError(problems)
    return [_plan_and_run(index, service, result, user, plan_only) for index, service, result in declared]


def _authorize(user, service: Service | None, team) -> None:
    if user is None:
        return
    for needed in {team, *([service.team] if service else [])}:
        if not can_edit_team_content(user, needed):
            raise PermissionDenied(f"You are not a member of team {needed.slug!r}; ask one of its owners.")


def _plan_and_run(index: int, service: Service, result: str, user, plan_only: bool) -> Outcome:
    outcome = Outcome(index, service.name, result, service.revision)
    plan = plan_service(service, user)
    outcome.plan = jsonable(PlanSerializer(plan).data)
    if plan_only:
        return outcome
    current = active_run(service_key(service.name))
    if current is not None and result == services.UNCHANGED:
        outcome.run = _run(current.pk)
        outcome.notes.append("the run in progress applies this revision")
    elif plan.has_changes or plan.requires_approval:
        outcome.run = _run(apply_service(service, user, plan=plan).pk)
    else:
        outcome.notes.append("nothing to apply")
    return outcome


def _run(run_id: int) -> dict:
    return jsonable(RunSerializer(run_queryset().get(pk=run_id)).data)


# --- telling it ------------------------------------------------------------------------------------------------


def plan_lines(outcome: Outcome, *, plan_only: bool) -> list[str]:
    """An outcome as the command prints it: the result, the plan's changes, the run."""
    verb = {"created": "would be created", "updated": "would be updated"}.get(outcome.result, outcome.result)
    result = verb if plan_only else outcome.result
    lines = [f"{outcome.service}: {result} (revision {outcome.revision})"]
    plan = outcome.plan or {}
    for change in plan.get("changes", []):
        if change["action"] == ChangeAction.UNCHANGED:
            continue
        where = f"{change['namespace']}/" if change["namespace"] else ""
        lines.append(f"  {change['action']} {change['kind']} {where}{change['name']}")
    summary = plan.get("summary", {})
    counts = ", ".join(f"{summary.get(k, 0)} {k}" for k in ("create", "update", "delete", "unchanged"))
    lines.append(f"  plan #{plan.get('id')}: {counts}" if not plan_only else f"  plan: {counts}")
    if outcome.run:
        status = outcome.run["status"].replace("_", " ")
        reasons = "; ".join((outcome.run.get("plan") or {}).get("approval_reasons") or [])
        lines.append(f"  run #{outcome.run['id']} {status}" + (f": {reasons}" if reasons else ""))
    lines += [f"  {note}" for note in outcome.notes]
    return lines


@lru_cache(maxsize=1)
def spec_file_schema() -> dict[str, Any]:
    """The JSON schema of a spec file, made from the OpenAPI component of the service document (the serializer's
    request shape): the same fields, choices and bounds, in JSON Schema 2020-12 for editors."""
    from drf_spectacular.generators import SchemaGenerator

    components = jsonable(SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"])
    document = components["ServiceRequest"]
    defs: dict[str, Any] = {}

    def convert(node: Any) -> Any:
        if isinstance(node, list):
            return [convert(n) for n in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref":
                target = value.rsplit("/", 1)[-1]
                out[key] = f"#/$defs/{target}"
                if target not in defs:
                    defs[target] = {}  # taken before converting: components may refer to each other
                    defs[target] = convert(components[target])
            elif key == "properties":
                out[key] = {name: convert(schema) for name, schema in value.items()}
            elif key in ("items", "allOf", "oneOf", "anyOf", "additionalProperties"):
                out[key] = convert(value)
            elif key != "nullable":
                out[key] = value
        if out.get("type") == "object" and "properties" in out:
            out.setdefault("additionalProperties", False)  # a typo in a file is an error, not ignored
        if not node.get("nullable"):
            return out
        if "type" in out:
            return {**out, "type": [out["type"], "null"], **({"enum": [*out["enum"], None]} if "enum" in out else {})}
        annotations = {k: out.pop(k) for k in ("description", "readOnly", "writeOnly") if k in out}
        return {"anyOf": [out, {"type": "null"}], **annotations}

    spec = convert({k: v for k, v in document.items() if k not in ("required",)})
    metadata = {k: spec["properties"].pop(k) for k in METADATA_FIELDS}
    spec["description"] = "The service's document as the API takes it, without name and team (see metadata)."
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "service-spec.json",
        "title": "Service spec (portal.io/v1)",
        "description": "A service declared in a team's repository, applied by `manage.py apply_spec` or "
        "POST /api/v1/specs/apply/.",
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
        "properties": {
            "apiVersion": {"const": API_VERSION},
            "kind": {"const": KIND},
            "metadata": {
                "type": "object",
                "required": list(METADATA_FIELDS),
                "additionalProperties": False,
                "properties": metadata,
            },
            "spec": spec,
        },
        "$defs": dict(sorted(defs.items())),
    }
