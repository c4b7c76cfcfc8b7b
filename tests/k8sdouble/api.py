"""The Kubernetes REST API over a :class:`~.cluster.Cluster`: paths to the objects they address, methods and
media types to cluster operations, answers and errors as JSON."""

from __future__ import annotations

import base64
import binascii
import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import yaml
from werkzeug.wrappers import Request, Response

from .cluster import Cluster, Target, WriteOptions
from .discovery import HEALTH_PATHS, discovery_document, is_discovery_path
from .errors import ApiError, bad_request, method_not_allowed, path_not_found
from .patch import APPLY_PATCH, PATCH_TYPES
from .requestlog import WRITE_METHODS, RequestRecord


def json_response(body: Any, status: int = 200, headers: Iterable[tuple[str, str]] = ()) -> Response:
    """A JSON answer."""
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=list(headers))


def flag(value: str | None, name: str) -> bool:
    """A boolean query parameter as the server reads it: absent, ``false`` or ``0`` is false."""
    if value is None or value.lower() in ("false", "0", ""):
        return False
    if value.lower() in ("true", "1"):
        return True
    raise bad_request(f"invalid boolean value for {name}: {value!r}")


def _read_body(request: Request) -> Any:
    raw = request.get_data()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        if request.mimetype != APPLY_PATCH:
            raise bad_request("the request body is not valid JSON") from None
    try:
        loaded = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise bad_request(f"the request body is not valid YAML: {exc}") from None
    # The server reads YAML as JSON: unquoted timestamps stay strings.
    return json.loads(json.dumps(loaded, default=str))


def _default_field_manager(user_agent: str) -> str:
    """The server's default manager name: the User-Agent up to its first "/"."""
    return user_agent.split("/", 1)[0].strip()[:128] or "unknown"


@dataclass(frozen=True)
class Call:
    """A request read as the API reads it: its path segments, the objects it addresses (None for discovery) and
    its body."""

    segments: list[str]
    target: Target | None
    body: Any


class Api:
    """The REST API of one cluster. Not thread-safe: callers hold the double's lock."""

    def __init__(self, cluster: Cluster) -> None:
        self._cluster = cluster

    def read(self, request: Request, record: RequestRecord) -> Call:
        """Resolve the request's path and read its body, filling in what the record says about its target."""
        segments = [segment for segment in request.path.split("/") if segment]
        target = None if is_discovery_path(segments) else self._target(segments)
        body = _read_body(request) if request.method in WRITE_METHODS else None
        record.body = copy.deepcopy(body)
        if target is not None:
            record.kind, record.namespace, record.name = target.rtype.kind, target.namespace, target.name or ""
            record.group = target.rtype.group
            record.resource = "/".join(filter(None, (target.rtype.plural, target.subresource)))
            if request.method == "POST" and isinstance(body, dict) and isinstance(body.get("metadata"), dict):
                record.name = body["metadata"].get("name") or ""
        return Call(segments, target, body)

    def serve(self, request: Request, call: Call, record: RequestRecord) -> Response:
        """Carry the request out; the record learns whether it changed stored state."""
        if call.target is None:
            return self._discovery(request, call.segments)
        return self._serve_resource(request, call.target, call.body, record)

    def _discovery(self, request: Request, segments: list[str]) -> Response:
        if len(segments) == 1 and segments[0] in HEALTH_PATHS:
            return Response("ok", mimetype="text/plain")
        return json_response(discovery_document(segments, self._cluster.types(), request.host))

    def _target(self, segments: list[str]) -> Target:
        if segments[0] == "api" and len(segments) >= 3:
            group, version, rest = "", segments[1], segments[2:]
        elif segments[0] == "apis" and len(segments) >= 4:
            group, version, rest = segments[1], segments[2], segments[3:]
        else:
            raise path_not_found()
        namespace = ""
        if len(rest) >= 3 and rest[0] == "namespaces":
            scoped = self._cluster.resolve(group, version, rest[2])
            if scoped is not None and scoped.namespaced:
                namespace, rest = rest[1], rest[2:]
        rtype = self._cluster.resolve(group, version, rest[0])
        if rtype is None or len(rest) > 3:
            raise path_not_found()
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else None
        if (subresource and not (subresource == "status" and rtype.has_status)) or (
            rtype.namespaced and name and not namespace
        ):
            raise path_not_found()
        return Target(rtype, version, namespace, name, subresource)

    def _serve_resource(self, request: Request, target: Target, body: Any, record: RequestRecord) -> Response:
        method, args, cluster = request.method, request.args, self._cluster
        if args.get("watch") and flag(args.get("watch"), "watch"):
            raise bad_request("the Kubernetes API double does not support watch")
        if method == "GET":
            if target.name is None:
                return self._list(target, args)
            return json_response(cluster.render(target.rtype, target.version, cluster.get(target)))
        if method == "DELETE" and target.subresource is None:
            return self._delete(target, args, body, record)
        if method not in ("POST", "PUT", "PATCH") or (method == "POST") != (target.name is None):
            raise method_not_allowed()
        if method == "POST" and target.rtype.namespaced and not target.namespace:
            raise method_not_allowed()

        options = self._write_options(args)
        content_type = request.mimetype
        manager = args.get("fieldManager") or _default_field_manager(request.user_agent.string)
        force = flag(args.get("force"), "force")
        if force and content_type != APPLY_PATCH:
            raise bad_request("force may only be specified with apply patch requests")
        if method == "POST":
            result = cluster.create(target, body, manager, options)
        elif method == "PUT":
            result = cluster.replace(target, body, manager, options)
        elif content_type == APPLY_PATCH:
            if not args.get("fieldManager"):
                raise bad_request("fieldManager is required for apply requests")
            result = cluster.apply(target, body, manager, force, options)
        elif content_type in PATCH_TYPES:
            result = cluster.patch(target, body, content_type, manager, options)
        else:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types include: "
                f"{', '.join(PATCH_TYPES)}",
            )
        record.changed = result.changed
        status = 201 if result.created else 200
        warnings = [("Warning", "299 - " + json.dumps(warning)) for warning in result.warnings]
        return json_response(cluster.render(target.rtype, target.version, result.stored), status, warnings)

    @staticmethod
    def _write_options(args: Mapping[str, str]) -> WriteOptions:
        dry_run = args.get("dryRun")
        if dry_run not in (None, "All"):
            raise bad_request(f"unsupported dryRun value {dry_run!r}: only All is supported")
        validation = args.get("fieldValidation") or "Warn"
        if validation not in ("Strict", "Warn", "Ignore"):
            raise bad_request(f"invalid fieldValidation value {validation!r}: Strict, Warn or Ignore")
        return WriteOptions(dry_run=dry_run == "All", field_validation=validation)

    def _list(self, target: Target, args: Mapping[str, str]) -> Response:
        cluster, rtype = self._cluster, target.rtype
        found = cluster.list(rtype, target.namespace, args.get("labelSelector"), args.get("fieldSelector"))
        metadata: dict[str, Any] = {"resourceVersion": str(cluster.resource_version)}
        if args.get("limit") or args.get("continue"):
            try:
                offset = int(json.loads(base64.urlsafe_b64decode(args["continue"]))) if args.get("continue") else 0
                limit = int(args.get("limit") or 0) or len(found)
            except (ValueError, binascii.Error):
                raise bad_request("invalid limit or continue token") from None
            if offset + limit < len(found):
                metadata["continue"] = base64.urlsafe_b64encode(json.dumps(offset + limit).encode()).decode()
                metadata["remainingItemCount"] = len(found) - offset - limit
            found = found[offset : offset + limit]
        items = [cluster.render(rtype, target.version, stored) for stored in found]
        return json_response(
            {
                "kind": rtype.list_kind,
                "apiVersion": rtype.api_version(target.version),
                "metadata": metadata,
                "items": items,
            }
        )

    def _delete(self, target: Target, args: Mapping[str, str], body: Any, record: RequestRecord) -> Response:
        cluster, rtype = self._cluster, target.rtype
        dry_run = self._write_options(args).dry_run
        if target.name is not None:
            deleted = cluster.delete(target, body, dry_run)
            record.changed = not dry_run
            details = rtype.details(target.name, uid=deleted.obj["metadata"]["uid"])
            return json_response(
                {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
            )
        found = cluster.list(rtype, target.namespace, args.get("labelSelector"), args.get("fieldSelector"))
        items = []
        for stored in found:
            metadata = stored.obj["metadata"]
            cluster.delete(
                replace(target, namespace=metadata.get("namespace", ""), name=metadata["name"]), None, dry_run
            )
            items.append(cluster.render(rtype, target.version, stored))
        record.changed = bool(items) and not dry_run
        return json_response(
            {
                "kind": rtype.list_kind,
                "apiVersion": rtype.api_version(target.version),
                "metadata": {"resourceVersion": str(cluster.resource_version)},
                "items": items,
            }
        )
