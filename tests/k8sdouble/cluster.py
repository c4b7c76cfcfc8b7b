"""The cluster state: objects in memory, and the write pipeline every create, replace, patch, apply and delete
goes through (preconditions, pruning, validation, defaults, ownership, resource versions)."""

from __future__ import annotations

import copy
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .apply import ServerSideApply, conflict_error
from .clock import now
from .crds import crd_resource_type, fill_crd_status
from .defaults import apply_builtin_defaults, apply_schema_defaults
from .errors import ApiError, bad_request
from .kinds import BUILTIN_TYPES, CRD_GROUP, CRD_TYPE, NAMESPACE_TYPE, ResourceType
from .managedfields import ManagedEntry, Shape, claim_update, ownership
from .patch import patched
from .schemas import prune_unknown
from .selectors import field_selector, label_selector
from .validation import decode_problem, invalid, validate

_SEED_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")
_SEED_MANAGER = "kube-apiserver"


@dataclass(frozen=True)
class Stored:
    """An object as stored: without apiVersion, kind and managedFields (rendered per request). Never mutated."""

    obj: dict[str, Any]
    managed: tuple[ManagedEntry, ...] = ()

    @property
    def resource_version(self) -> int:
        """The ``resourceVersion`` of the object's last change, as a number."""
        return int(self.obj["metadata"].get("resourceVersion") or 0)


@dataclass(frozen=True)
class Target:
    """What a request addresses: a kind at a version, a namespace ("" if none), maybe a name and a subresource."""

    rtype: ResourceType
    version: str
    namespace: str
    name: str | None = None
    subresource: str | None = None

    @property
    def scope(self) -> str:
        """Which part of the object a write may set: "status" through the status subresource, else "main"."""
        return "status" if self.subresource == "status" else "main"


@dataclass(frozen=True)
class WriteOptions:
    """The query parameters of a write that change how it is carried out."""

    dry_run: bool = False
    field_validation: str = "Warn"  # Strict | Warn | Ignore


@dataclass
class WriteResult:
    """What a write left: the stored object, whether it was new, whether anything changed, warnings for the client."""

    stored: Stored
    created: bool
    changed: bool
    warnings: list[str] = field(default_factory=list)


class Cluster:
    """The API semantics over an in-memory store. Not thread-safe: callers hold the double's lock."""

    def __init__(self, crd_documents: list[dict[str, Any]]) -> None:
        self._crd_documents = crd_documents
        self._objects: dict[tuple[str, str], dict[tuple[str, str], Stored]] = {}
        self._types: dict[tuple[str, str], ResourceType] = {}
        self._shapes: dict[tuple[str, str, str], Shape] = {}
        self.resource_version = 0
        self.seed_resource_version = 0
        self._cluster_ips = 0
        self._node_ports = 0
        self.reset()

    # state

    def reset(self) -> None:
        """Back to a fresh cluster: the system namespaces and the CRDs of the CRD directory."""
        self._objects.clear()
        self.resource_version = 0
        self._cluster_ips = 0
        self._node_ports = 0
        for document in self._crd_documents:
            self._seed_crd(document)
        self._refresh_types()
        for name in _SEED_NAMESPACES:
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            self.create(Target(NAMESPACE_TYPE, "v1", ""), body, _SEED_MANAGER, WriteOptions())
        self.seed_resource_version = self.resource_version

    def _seed_crd(self, document: Mapping[str, Any]) -> None:
        # The CRD documents are large and shared between resets: copy only what the server fills in.
        self.resource_version += 1
        metadata = {
            **document.get("metadata", {}),
            "uid": str(uuid.uuid4()),
            "resourceVersion": str(self.resource_version),
            "generation": 1,
            "creationTimestamp": now(),
        }
        obj = {key: value for key, value in document.items() if key not in ("apiVersion", "kind")}
        obj["metadata"] = metadata
        fill_crd_status(obj)
        self._objects.setdefault((CRD_GROUP, CRD_TYPE.plural), {})[("", metadata["name"])] = Stored(obj)

    def _refresh_types(self) -> None:
        self._types = {(t.group, t.plural): t for t in BUILTIN_TYPES}
        for stored in self._objects.get((CRD_GROUP, CRD_TYPE.plural), {}).values():
            rtype = crd_resource_type(stored.obj)
            if rtype is not None:
                self._types.setdefault((rtype.group, rtype.plural), rtype)
        self._shapes.clear()

    # kinds

    def types(self) -> list[ResourceType]:
        """Every kind served now: the built-in ones and those of the stored CRDs."""
        return list(self._types.values())

    def resolve(self, group: str, version: str, plural: str) -> ResourceType | None:
        """The kind served at ``group``/``version`` under ``plural``, or None."""
        rtype = self._types.get((group, plural))
        return rtype if rtype is not None and version in rtype.versions else None

    def shape(self, rtype: ResourceType, version: str) -> Shape:
        """The kind's :class:`Shape` at ``version``, built once until the served kinds change."""
        key = (rtype.group, rtype.plural, version)
        if key not in self._shapes:
            self._shapes[key] = Shape(rtype, version)
        return self._shapes[key]

    # reads

    def find(self, target: Target) -> Stored | None:
        """The object the target names, or None."""
        bucket = self._objects.get((target.rtype.group, target.rtype.plural), {})
        return bucket.get((target.namespace, target.name or ""))

    def get(self, target: Target) -> Stored:
        """The object the target names; ``NotFound`` when there is none."""
        stored = self.find(target)
        if stored is None:
            raise not_found(target)
        return stored

    def list(
        self,
        rtype: ResourceType,
        namespace: str = "",
        labels: str | None = None,
        fields: str | None = None,
    ) -> list[Stored]:
        """Objects of a kind, in one namespace or all ("" for all), sorted by namespace and name."""
        label_match = label_selector(labels) if labels else None
        field_match = field_selector(fields, rtype) if fields else None
        bucket = self._objects.get((rtype.group, rtype.plural), {})
        found = []
        for (obj_namespace, _), stored in sorted(bucket.items()):
            if namespace and obj_namespace != namespace:
                continue
            if label_match and not label_match(stored.obj["metadata"].get("labels") or {}):
                continue
            if field_match and not field_match(stored.obj):
                continue
            found.append(stored)
        return found

    def render(self, rtype: ResourceType, version: str, stored: Stored) -> dict[str, Any]:
        """The object as the API returns it at ``version``: apiVersion, kind and managedFields filled in."""
        metadata = dict(stored.obj["metadata"])
        if stored.managed:
            metadata["managedFields"] = [entry.render() for entry in stored.managed]
        rendered = {"apiVersion": rtype.api_version(version), "kind": rtype.kind, "metadata": metadata}
        rendered.update((key, value) for key, value in stored.obj.items() if key != "metadata")
        return rendered

    # writes

    def create(self, target: Target, body: Any, manager: str, options: WriteOptions) -> WriteResult:
        """POST: a new object (``generateName`` honoured); ``AlreadyExists`` when the name is taken."""
        self._check_body(target, body)
        metadata = body.setdefault("metadata", {})
        if metadata.get("resourceVersion"):
            raise bad_request("resourceVersion should not be set on objects to be created")
        if not metadata.get("name") and metadata.get("generateName"):
            metadata["name"] = f"{metadata['generateName']}{secrets.token_hex(3)[:5]}"
        name = metadata.get("name")
        if not name:
            cause = ("FieldValueRequired", "metadata.name", "Required value: name or generateName is required")
            raise invalid(target.rtype, "", [cause])
        target = replace(target, name=name)
        if self.find(target) is not None:
            raise ApiError(
                409,
                "AlreadyExists",
                f'{target.rtype.qualified} "{name}" already exists',
                target.rtype.details(name),
            )
        return self._update(target, None, body, manager, options)

    def replace(self, target: Target, body: Any, manager: str, options: WriteOptions) -> WriteResult:
        """PUT: the object replaced, guarded by the body's ``resourceVersion`` when it has one."""
        self._check_body(target, body)
        old = self.get(target)
        self._check_precondition(target, body, old)
        return self._update(target, old, body, manager, options)

    def patch(self, target: Target, patch: Any, content_type: str, manager: str, options: WriteOptions) -> WriteResult:
        """PATCH with a JSON, merge or strategic merge patch (apply patches go to :meth:`apply`)."""
        old = self.get(target)
        current = copy.deepcopy(self.render(target.rtype, target.version, old))
        result = patched(current, patch, content_type)
        self._check_body(target, result)
        self._check_precondition(target, result, old)
        return self._update(target, old, result, manager, options)

    def apply(self, target: Target, config: Any, manager: str, force: bool, options: WriteOptions) -> WriteResult:
        """Server-side apply: ``config`` becomes exactly the set of fields ``manager`` owns."""
        if not isinstance(config, dict) or not config.get("apiVersion") or not config.get("kind"):
            raise bad_request("an applied configuration must be an object with apiVersion and kind set")
        self._check_body(target, config)
        old = self.find(target)
        if old is None and target.subresource:
            raise not_found(target)
        self._check_precondition(target, config, old)
        rtype, scope = target.rtype, target.scope
        shape = self.shape(rtype, target.version)
        warnings = self._prune(target, config, options)
        applied = _written_part(rtype, config, scope)
        ssa = ServerSideApply(
            shape,
            scope,
            manager,
            target.subresource or "",
            old.obj if old is not None else {"metadata": {}},
            old.managed if old is not None else (),
            applied,
        )
        conflicts = ssa.conflicts()
        if conflicts and not force:
            raise conflict_error(rtype, target.name or "", conflicts)
        taken = {path for _, path in conflicts}
        obj = ssa.merged(taken)
        self._finish(target, shape, obj, old)
        writer = ManagedEntry(manager, "Apply", rtype.api_version(target.version), ssa.subresource, now(), ssa.owned)
        result = ssa.managed_fields(writer, taken, obj)
        self._allocate(target, obj, old)
        outcome = self._commit(target, old, obj, result, options)
        outcome.warnings.extend(warnings)
        return outcome

    def delete(self, target: Target, options: Any, dry_run: bool) -> Stored:
        """DELETE with the ``DeleteOptions`` body's preconditions; a namespace takes its objects, a CRD its kind."""
        old = self.get(target)
        preconditions = (options.get("preconditions") or {}) if isinstance(options, dict) else {}
        metadata = old.obj["metadata"]
        for key in ("uid", "resourceVersion"):
            if preconditions.get(key) and preconditions[key] != metadata.get(key):
                raise ApiError(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {target.rtype.qualified} "{target.name}": '
                    f"Precondition failed: {key} in precondition: {preconditions[key]}, "
                    f"{key} in object meta: {metadata.get(key)}",
                    target.rtype.details(target.name or ""),
                )
        if dry_run:
            return old
        self.resource_version += 1
        del self._objects[(target.rtype.group, target.rtype.plural)][(target.namespace, target.name or "")]
        if (target.rtype.group, target.rtype.kind) == ("", "Namespace"):
            for bucket in self._objects.values():
                for key in [key for key in bucket if key[0] == target.name]:
                    del bucket[key]
        if target.rtype is CRD_TYPE:
            rtype = crd_resource_type(old.obj)
            if rtype is not None:
                self._objects.pop((rtype.group, rtype.plural), None)
            self._refresh_types()
        return old

    # write pipeline

    def _update(
        self, target: Target, old: Stored | None, body: dict[str, Any], manager: str, options: WriteOptions
    ) -> WriteResult:
        """A create, replace or non-apply patch: the writer takes ownership of what it changed."""
        shape = self.shape(target.rtype, target.version)
        warnings = self._prune(target, body, options)
        obj = _compose(target.rtype, old.obj if old is not None else None, body, target.scope)
        self._finish(target, shape, obj, old)
        writer = ManagedEntry(
            manager, "Update", target.rtype.api_version(target.version), target.subresource or "", now(), frozenset()
        )
        managed = claim_update(
            old.managed if old is not None else (),
            old.obj if old is not None else None,
            obj,
            shape,
            target.scope,
            writer,
        )
        self._allocate(target, obj, old)
        outcome = self._commit(target, old, obj, list(managed), options)
        outcome.warnings.extend(warnings)
        return outcome

    def _check_body(self, target: Target, body: Any) -> None:
        rtype = target.rtype
        if not isinstance(body, dict):
            raise bad_request("the request body must be a JSON object")
        expected = rtype.api_version(target.version)
        if body.get("apiVersion") and body["apiVersion"] != expected:
            raise bad_request(
                f"the API version in the data ({body['apiVersion']}) does not match the expected API version "
                f"({expected})"
            )
        if body.get("kind") and body["kind"] != rtype.kind:
            raise bad_request(f"the kind in the data ({body['kind']}) does not match the expected kind ({rtype.kind})")
        metadata = body.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise bad_request("metadata must be an object")
        if rtype.namespaced and metadata.get("namespace") and metadata["namespace"] != target.namespace:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        if target.name and metadata.get("name") and metadata["name"] != target.name:
            raise bad_request(
                f"the name of the object ({metadata['name']}) does not match the name on the URL ({target.name})"
            )

    def _check_precondition(self, target: Target, body: Mapping[str, Any], old: Stored | None) -> None:
        wanted = (body.get("metadata") or {}).get("resourceVersion")
        if wanted and (old is None or str(wanted) != old.obj["metadata"]["resourceVersion"]):
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {target.rtype.qualified} "{target.name}": the object has been '
                "modified; please apply your changes to the latest version and try again",
                target.rtype.details(target.name or ""),
            )

    def _prune(self, target: Target, body: dict[str, Any], options: WriteOptions) -> list[str]:
        """Drop fields a custom resource's schema does not declare; Strict field validation rejects them."""
        schema = target.rtype.schemas.get(target.version)
        if not schema:
            return []
        unknown: list[str] = []
        prune_unknown(body, schema, "", unknown)
        if unknown and options.field_validation == "Strict":
            raise bad_request(
                f"{target.rtype.kind} in version {target.version!r} cannot be handled as a {target.rtype.kind}: "
                + ", ".join(f'strict decoding error: unknown field "{path}"' for path in unknown)
            )
        return [f'unknown field "{path}"' for path in unknown] if options.field_validation == "Warn" else []

    def _finish(self, target: Target, shape: Shape, obj: dict[str, Any], old: Stored | None) -> None:
        """Server metadata, decoding checks, validation and defaults of the object a write produces."""
        rtype = target.rtype
        metadata = obj.setdefault("metadata", {})
        metadata.pop("managedFields", None)
        metadata.pop("selfLink", None)
        metadata["name"] = target.name
        if rtype.namespaced:
            metadata["namespace"] = target.namespace
        else:
            metadata.pop("namespace", None)
        for key in ("uid", "creationTimestamp", "generation", "resourceVersion"):
            if old is not None:
                metadata[key] = old.obj["metadata"][key]
            else:
                metadata.pop(key, None)
        if problem := decode_problem(rtype, obj):
            raise bad_request(problem)
        validate(rtype, obj)
        if shape.schema:
            apply_schema_defaults(obj, shape.schema, root=True)
        apply_builtin_defaults(rtype.group, rtype.kind, obj)

    def _allocate(self, target: Target, obj: dict[str, Any], old: Stored | None) -> None:
        """Values the server assigns and keeps across writes: a Service's cluster IP and node ports."""
        if (target.rtype.group, target.rtype.kind) != ("", "Service"):
            return
        spec = obj["spec"]
        old_spec = (old.obj.get("spec") or {}) if old is not None else {}
        if spec.get("type") != "ExternalName":
            if not spec.get("clusterIP"):
                spec["clusterIP"] = old_spec.get("clusterIP") or self._next_cluster_ip()
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            old_node_ports = {p.get("port"): p.get("nodePort") for p in old_spec.get("ports") or []}
            for port in spec.get("ports") or []:
                if not port.get("nodePort"):
                    port["nodePort"] = old_node_ports.get(port.get("port")) or self._next_node_port()

    def _next_cluster_ip(self) -> str:
        self._cluster_ips += 1
        return f"10.96.{self._cluster_ips // 250}.{self._cluster_ips % 250 + 1}"

    def _next_node_port(self) -> int:
        self._node_ports += 1
        return 30000 + self._node_ports

    def _commit(
        self,
        target: Target,
        old: Stored | None,
        obj: dict[str, Any],
        managed: list[ManagedEntry],
        options: WriteOptions,
    ) -> WriteResult:
        """Store the object unless nothing changed; a stored change takes the next resourceVersion."""
        if old is not None and obj == old.obj and ownership(managed) == ownership(old.managed):
            return WriteResult(old, created=False, changed=False)
        metadata = obj["metadata"]
        if old is None:
            metadata.update(uid=str(uuid.uuid4()), creationTimestamp=now(), generation=1)
        elif _spec(obj) != _spec(old.obj):
            metadata["generation"] = old.obj["metadata"]["generation"] + 1
        stored = Stored(obj, tuple(managed))
        if options.dry_run:
            return WriteResult(stored, created=old is None, changed=False)
        self.resource_version += 1
        metadata["resourceVersion"] = str(self.resource_version)
        self._objects.setdefault((target.rtype.group, target.rtype.plural), {})[(target.namespace, target.name)] = (
            stored
        )
        if target.rtype is CRD_TYPE:
            self._refresh_types()
        return WriteResult(stored, created=old is None, changed=True)


def not_found(target: Target) -> ApiError:
    """A 404 for an object that does not exist."""
    name = target.name or ""
    return ApiError(404, "NotFound", f'{target.rtype.qualified} "{name}" not found', target.rtype.details(name))


def _written_part(rtype: ResourceType, body: Mapping[str, Any], scope: str) -> dict[str, Any]:
    """The part of a request body a write may set: status through the status subresource, the rest otherwise."""
    if scope == "status":
        return {"status": copy.deepcopy(body["status"])} if "status" in body else {}
    written = {
        key: copy.deepcopy(value)
        for key, value in body.items()
        if key not in ("apiVersion", "kind") and not (key == "status" and rtype.has_status)
    }
    if isinstance(written.get("metadata"), dict):
        written["metadata"].pop("managedFields", None)
    return written


def _compose(rtype: ResourceType, old: Mapping[str, Any] | None, body: Mapping[str, Any], scope: str) -> dict:
    """A replacement object: the written part from the request, the other part from the live object."""
    written = _written_part(rtype, body, scope)
    if scope == "status":
        obj = {key: copy.deepcopy(value) for key, value in (old or {}).items() if key != "status"}
        obj.update(written)
        return obj
    if rtype.has_status and old is not None and "status" in old:
        written["status"] = copy.deepcopy(old["status"])
    return written


def _spec(obj: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in obj.items() if key not in ("metadata", "status")}
