"""A Kubernetes API server double: state in memory, served over HTTP on loopback.

It serves what the portal and the official client's ``DynamicClient`` use: discovery (built-in kinds plus the kinds of
the CRD files), CRUD with label and field selectors, merge and JSON patches, server-side apply with managed fields and
conflicts, ``resourceVersion`` preconditions and server-filled defaults. Test hooks live under ``/_double/`` and are
also methods of :class:`KubernetesDouble`: reset, fault injection and a request log.

Run it in a thread (``KubernetesDouble().start()``) or as a process that several processes share::

    python -m tests.k8sdouble.server --port 8001
"""

from __future__ import annotations

import argparse
import base64
import binascii
import copy
import json
import re
import secrets
import threading
import time
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jsonpatch
import yaml
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

DEFAULT_CRD_DIR = Path(__file__).resolve().parents[2] / "provisioning" / "crds"
KUBERNETES_VERSION = {
    "major": "1",
    "minor": "33",
    "gitVersion": "v1.33.0",
    "gitCommit": "",
    "gitTreeState": "clean",
    "buildDate": "2025-04-23T00:00:00Z",
    "goVersion": "go1.24.2",
    "compiler": "gc",
    "platform": "linux/amd64",
}

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH)

_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update"]
_STATUS_VERBS = ["get", "patch", "update"]
_CRD_GROUP = "apiextensions.k8s.io"
_RBAC_GROUP = "rbac.authorization.k8s.io"
_SEED_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")
_SEED_MANAGER = "kube-apiserver"
# Metadata the server owns: never part of a manager's fields, never taken from a request.
_SERVER_METADATA = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "managedFields",
        "selfLink",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    }
)
_REASONS = {
    400: "BadRequest",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- errors ------------------------------------------------------------------------------------------------------


class ApiError(Exception):
    """A rejected request; the client receives it as a ``Status`` object with the same code."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def _path_not_found() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


# --- resource types ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceType:
    """One kind the double serves: where it lives in the API and how the server treats its objects."""

    group: str
    versions: tuple[str, ...]  # served versions, the preferred one first
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    list_kind: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    has_status: bool = False  # a status subresource: writes to the object leave status alone
    name_rule: str = "subdomain"  # "label" (DNS-1123 label), "subdomain" or "segment" (any path segment)
    # version -> openAPIV3Schema of a custom resource; large, so left out of comparisons
    schemas: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, repr=False, compare=False)

    def api_version(self, version: str) -> str:
        return f"{self.group}/{version}" if self.group else version

    @property
    def qualified(self) -> str:
        """How the server names the resource in messages: ``services``, ``destinationrules.networking.istio.io``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def details(self, name: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "group": self.group, "kind": self.plural, **extra}


def _builtin(group: str, plural: str, kind: str, namespaced: bool, **extra: Any) -> ResourceType:
    return ResourceType(group, ("v1",), plural, kind, namespaced, kind.lower(), f"{kind}List", **extra)


BUILTIN_TYPES: tuple[ResourceType, ...] = (
    _builtin("", "namespaces", "Namespace", False, short_names=("ns",), has_status=True, name_rule="label"),
    _builtin("", "services", "Service", True, short_names=("svc",), has_status=True, name_rule="label"),
    _builtin("", "serviceaccounts", "ServiceAccount", True, short_names=("sa",)),
    _builtin("", "configmaps", "ConfigMap", True, short_names=("cm",)),
    _builtin("", "secrets", "Secret", True),
    _builtin("apps", "deployments", "Deployment", True, short_names=("deploy",), has_status=True),
    _builtin("apps", "daemonsets", "DaemonSet", True, short_names=("ds",), has_status=True),
    _builtin("networking.k8s.io", "ingresses", "Ingress", True, short_names=("ing",), has_status=True),
    _builtin("networking.k8s.io", "ingressclasses", "IngressClass", False),
    _builtin(_RBAC_GROUP, "roles", "Role", True, name_rule="segment"),
    _builtin(_RBAC_GROUP, "rolebindings", "RoleBinding", True, name_rule="segment"),
    _builtin(_RBAC_GROUP, "clusterroles", "ClusterRole", False, name_rule="segment"),
    _builtin(_RBAC_GROUP, "clusterrolebindings", "ClusterRoleBinding", False, name_rule="segment"),
    _builtin(
        _CRD_GROUP,
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        short_names=("crd", "crds"),
        has_status=True,
    ),
)
CRD_TYPE = BUILTIN_TYPES[-1]

_KUBE_VERSION = re.compile(r"v(\d+)(?:(alpha|beta)(\d+))?")


def version_priority(version: str) -> tuple[int, int, int]:
    """Kubernetes' version order: GA before beta before alpha, higher numbers first (sort descending)."""
    match = _KUBE_VERSION.fullmatch(version)
    if not match:
        return (0, 0, 0)
    stage = {None: 3, "beta": 2, "alpha": 1}[match[2]]
    return (stage, int(match[1]), int(match[3] or 0))


def crd_resource_type(crd: Mapping[str, Any]) -> ResourceType | None:
    """The kind a CustomResourceDefinition defines, with the schemas of its served versions."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    served = [v for v in spec.get("versions") or [] if v.get("served", True) and v.get("name")]
    if not (spec.get("group") and names.get("plural") and names.get("kind") and served):
        return None
    return ResourceType(
        group=spec["group"],
        versions=tuple(sorted((v["name"] for v in served), key=version_priority, reverse=True)),
        plural=names["plural"],
        kind=names["kind"],
        namespaced=spec.get("scope") == "Namespaced",
        singular=names.get("singular") or names["kind"].lower(),
        list_kind=names.get("listKind") or f"{names['kind']}List",
        short_names=tuple(names.get("shortNames") or ()),
        categories=tuple(names.get("categories") or ()),
        has_status=any("status" in (v.get("subresources") or {}) for v in served),
        schemas={v["name"]: (v.get("schema") or {}).get("openAPIV3Schema") or {} for v in served},
    )


def load_crd_documents(crd_dir: str | Path) -> list[dict[str, Any]]:
    """The CustomResourceDefinitions in ``crd_dir``: JSON files, each a list of CRDs or a single one."""
    documents: list[dict[str, Any]] = []
    for path in sorted(Path(crd_dir).glob("*.json")):
        loaded = json.loads(path.read_text())
        documents.extend(
            doc
            for doc in (loaded if isinstance(loaded, list) else [loaded])
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"
        )
    return documents


# --- selectors ---------------------------------------------------------------------------------------------------

_SELECTOR_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"
_SELECTOR_TERM = re.compile(
    rf"\s*(?:!\s*(?P<absent>{_SELECTOR_KEY})"
    rf"|(?P<key>{_SELECTOR_KEY})\s*(?:(?P<op>==|=|!=)\s*(?P<value>[-A-Za-z0-9_.]*)"
    rf"|\s+(?P<setop>in|notin)\s*\((?P<values>[^()]*)\))?)\s*"
)
_FIELD_TERM = re.compile(r"\s*(?P<field>[A-Za-z0-9.]+)\s*(?P<op>==|=|!=)\s*(?P<value>[^,]*?)\s*")
_FIELD_SELECTORS: dict[tuple[str, str], frozenset[str]] = {
    ("", "Secret"): frozenset({"type"}),
    ("", "Namespace"): frozenset({"status.phase"}),
}


def _split_terms(text: str) -> list[str]:
    """Split a selector at the commas outside parentheses."""
    terms, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return [term for term in terms if term.strip()]


def _label_requirement(term: str) -> Callable[[Mapping[str, str]], bool]:
    match = _SELECTOR_TERM.fullmatch(term)
    if not match:
        raise bad_request(f"unable to parse requirement: {term.strip()!r}")
    if match["absent"]:
        absent = match["absent"]
        return lambda labels: absent not in labels
    key = match["key"]
    if match["op"]:
        value, negate = match["value"], match["op"] == "!="
        return lambda labels: (labels.get(key) == value) != negate
    if match["setop"]:
        values = {v.strip() for v in match["values"].split(",") if v.strip()}
        if match["setop"] == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    return lambda labels: key in labels


def label_selector(text: str) -> Callable[[Mapping[str, str]], bool]:
    """A predicate on an object's labels: ``a=b``, ``a!=b``, ``a in (x,y)``, ``a notin (x)``, ``a``, ``!a``."""
    requirements = [_label_requirement(term) for term in _split_terms(text)]
    return lambda labels: all(requirement(labels) for requirement in requirements)


def field_selector(text: str, rtype: ResourceType) -> Callable[[Mapping[str, Any]], bool]:
    """A predicate on an object: ``metadata.name`` and ``metadata.namespace`` (plus a few kind-specific fields)."""
    supported = {"metadata.name", "metadata.namespace"} | _FIELD_SELECTORS.get((rtype.group, rtype.kind), set())
    requirements: list[tuple[tuple[str, ...], str, bool]] = []
    for term in _split_terms(text):
        match = _FIELD_TERM.fullmatch(term)
        if not match:
            raise bad_request(f"invalid field selector: {term.strip()!r}")
        if match["field"] not in supported:
            raise bad_request(f"field label not supported: {match['field']}")
        requirements.append((tuple(match["field"].split(".")), match["value"], match["op"] == "!="))

    def matches(obj: Mapping[str, Any]) -> bool:
        for path, value, negate in requirements:
            current: Any = obj
            for part in path:
                current = current.get(part) if isinstance(current, dict) else None
            if ((current or "") == value) == negate:
                return False
        return True

    return matches


# --- managed fields ----------------------------------------------------------------------------------------------
# A field path is a tuple of Kubernetes fieldsV1 elements: "f:spec" for a map key, 'k:{"name":"http"}' for the item
# of a keyed list. A manager owns a set of paths; leaves, atomic lists and keyed-list items are owned.

FieldPath = tuple[str, ...]
_MISSING: Any = object()

# Lists of built-in kinds that the server merges item by item, with candidate keys (the first key every item has);
# every other built-in list is atomic. Custom resources declare theirs with x-kubernetes-list-type: map.
_BUILTIN_LIST_KEYS: dict[str, tuple[tuple[str, ...], ...]] = {
    "containers": (("name",),),
    "initContainers": (("name",),),
    "ephemeralContainers": (("name",),),
    "env": (("name",),),
    "volumes": (("name",),),
    "volumeMounts": (("mountPath",),),
    "imagePullSecrets": (("name",),),
    # Container ports by containerPort, Service ports by port (a real server also keys both by protocol).
    "ports": (("containerPort",), ("port",)),
    "conditions": (("type",),),
    "ownerReferences": (("uid",),),
}


def schema_at(schema: Mapping[str, Any], spath: Iterable[str]) -> Mapping[str, Any] | None:
    """The OpenAPI v3 schema of the field at ``spath`` (field names; list items are stepped through)."""
    node = schema
    for name in spath:
        while node.get("type") == "array" and isinstance(node.get("items"), dict):
            node = node["items"]
        properties = node.get("properties") or {}
        if name in properties:
            node = properties[name]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return None
    return node


class Shape:
    """What the server knows about one kind at one version: which lists merge by key, the schema of a CR."""

    def __init__(self, rtype: ResourceType, version: str) -> None:
        self.rtype = rtype
        self.schema = rtype.schemas.get(version)  # None for built-in kinds
        self._declared: dict[tuple[str, ...], tuple[tuple[str, ...], ...]] = {}

    def list_keys(self, spath: tuple[str, ...], items: list[Any]) -> tuple[str, ...] | None:
        """The keys identifying the items of the list at ``spath``, or None when the list is atomic."""
        if spath not in self._declared:
            self._declared[spath] = self._declared_keys(spath)
        for keys in self._declared[spath]:
            if items and all(isinstance(item, dict) and all(k in item for k in keys) for item in items):
                return keys
        return None

    def _declared_keys(self, spath: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
        if self.schema is None or spath[0] == "metadata":
            return _BUILTIN_LIST_KEYS.get(spath[-1], ())
        node = schema_at(self.schema, spath)
        if node and node.get("x-kubernetes-list-type") == "map" and node.get("x-kubernetes-list-map-keys"):
            return (tuple(node["x-kubernetes-list-map-keys"]),)
        return ()


def _item_marker(item: Mapping[str, Any], keys: Iterable[str]) -> str:
    return "k:" + json.dumps({k: item[k] for k in keys}, separators=(",", ":"), sort_keys=True)


def _item_matches(item: Any, key: Mapping[str, Any]) -> bool:
    return isinstance(item, dict) and all(item.get(k, _MISSING) == v for k, v in key.items())


def _collect(value: Any, path: FieldPath, spath: tuple[str, ...], shape: Shape, out: set[FieldPath]) -> None:
    if isinstance(value, dict) and value:
        for key, child in value.items():
            _collect(child, (*path, f"f:{key}"), (*spath, key), shape, out)
    elif isinstance(value, list) and (keys := shape.list_keys(spath, value)):
        for item in value:
            item_path = (*path, _item_marker(item, keys))
            out.add(item_path)
            for key, child in item.items():
                _collect(child, (*item_path, f"f:{key}"), (*spath, key), shape, out)
    else:
        out.add(path)


def field_set(obj: Mapping[str, Any], shape: Shape, scope: str) -> set[FieldPath]:
    """The paths a write of ``obj`` sets: the object without server metadata, or only ``status``."""
    out: set[FieldPath] = set()
    for key, value in obj.items():
        if key in ("apiVersion", "kind") or (scope == "status" and key != "status"):
            continue
        if scope == "main" and key == "status" and shape.rtype.has_status:
            continue
        if key == "metadata" and isinstance(value, dict):
            for meta_key, meta_value in value.items():
                if meta_key not in _SERVER_METADATA:
                    _collect(meta_value, ("f:metadata", f"f:{meta_key}"), ("metadata", meta_key), shape, out)
        else:
            _collect(value, (f"f:{key}",), (key,), shape, out)
    return out


def value_at(obj: Any, path: FieldPath) -> Any:
    """The value at a field path, or ``_MISSING``."""
    current = obj
    for element in path:
        if element.startswith("f:"):
            if not isinstance(current, dict) or element[2:] not in current:
                return _MISSING
            current = current[element[2:]]
        else:
            key = json.loads(element[2:])
            if not isinstance(current, list):
                return _MISSING
            current = next((item for item in current if _item_matches(item, key)), _MISSING)
            if current is _MISSING:
                return _MISSING
    return current


def _remove(obj: Any, path: FieldPath) -> None:
    parent, element = value_at(obj, path[:-1]), path[-1]
    if element.startswith("f:") and isinstance(parent, dict):
        parent.pop(element[2:], None)
    elif element.startswith("k:") and isinstance(parent, list):
        key = json.loads(element[2:])
        parent[:] = [item for item in parent if not _item_matches(item, key)]


def _is_key_field(path: FieldPath) -> bool:
    """A key field of a keyed-list item: it goes with the item, never on its own."""
    return len(path) >= 2 and path[-2].startswith("k:") and path[-1][2:] in json.loads(path[-2][2:])


def format_field_path(path: FieldPath) -> str:
    """A path as the server prints it in conflicts: ``.spec.ports[port=80].targetPort``."""
    parts = []
    for element in path:
        if element.startswith("f:"):
            parts.append(f".{element[2:]}")
        else:
            key = json.loads(element[2:])
            parts.append("[" + ",".join(f"{k}={json.dumps(v)}" for k, v in key.items()) + "]")
    return "".join(parts)


def fields_v1(paths: Iterable[FieldPath]) -> dict[str, Any]:
    """Kubernetes' FieldsV1 tree of a set of paths; ``"."`` marks an owned node that also has children."""
    owned = set(paths)
    children: defaultdict[FieldPath, set[str]] = defaultdict(set)
    for path in owned:
        for i in range(len(path)):
            children[path[:i]].add(path[i])

    def render(prefix: FieldPath) -> dict[str, Any]:
        node: dict[str, Any] = {".": {}} if prefix in owned and children[prefix] else {}
        for element in sorted(children[prefix]):
            node[element] = render((*prefix, element))
        return node

    return render(())


@dataclass(frozen=True)
class ManagedEntry:
    """One ``metadata.managedFields`` entry: a manager, how it wrote, and the fields it owns."""

    manager: str
    operation: str  # "Apply" or "Update"
    api_version: str
    subresource: str
    time: str
    fields: frozenset[FieldPath]

    def is_owner(self, manager: str, operation: str, subresource: str) -> bool:
        return (self.manager, self.operation, self.subresource) == (manager, operation, subresource)

    def ownership(self) -> tuple[str, str, str, str, frozenset[FieldPath]]:
        return (self.manager, self.operation, self.api_version, self.subresource, self.fields)

    def render(self) -> dict[str, Any]:
        entry = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": fields_v1(self.fields),
        }
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry


def claim_update(
    managed: Iterable[ManagedEntry],
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any],
    shape: Shape,
    scope: str,
    writer: ManagedEntry,
) -> tuple[ManagedEntry, ...]:
    """Ownership after an Update (POST/PUT/PATCH): the writer takes every field it changed, from everyone."""
    old_fields = field_set(old, shape, scope) if old is not None else set()
    changed = {
        path
        for path in field_set(new, shape, scope)
        if path not in old_fields or value_at(old, path) != value_at(new, path)
    }
    result: list[ManagedEntry] = []
    found = False
    for entry in managed:
        fields = {path for path in entry.fields if value_at(new, path) is not _MISSING}
        if entry.is_owner(writer.manager, "Update", writer.subresource):
            found = True
            entry = replace(writer, time=writer.time if changed else entry.time)
            fields |= changed
        else:
            fields -= changed
        if fields:
            result.append(replace(entry, fields=frozenset(fields)))
    if not found and changed:
        result.append(replace(writer, fields=frozenset(changed)))
    return tuple(result)


def merge_applied(live: Any, applied: Any, shape: Shape, spath: tuple[str, ...] = ()) -> Any:
    """Server-side apply's merge: maps recursively, keyed lists item by item, anything else replaced."""
    if isinstance(live, dict) and isinstance(applied, dict):
        merged = dict(live)
        for key, value in applied.items():
            merged[key] = merge_applied(live[key], value, shape, (*spath, key)) if key in live else copy.deepcopy(value)
        return merged
    if isinstance(live, list) and isinstance(applied, list) and (keys := shape.list_keys(spath, [*live, *applied])):
        merged_items = list(live)
        index = {_item_marker(item, keys): i for i, item in enumerate(merged_items)}
        for item in applied:
            marker = _item_marker(item, keys)
            if marker in index:
                merged_items[index[marker]] = merge_applied(merged_items[index[marker]], item, shape, spath)
            else:
                index[marker] = len(merged_items)
                merged_items.append(copy.deepcopy(item))
        return merged_items
    return copy.deepcopy(applied)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: maps merge recursively, ``null`` deletes a key, anything else (lists too) replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


# --- custom resource schemas: pruning and defaults ---------------------------------------------------------------


def prune_unknown(value: Any, schema: Mapping[str, Any] | None, path: str, unknown: list[str]) -> None:
    """Drop fields the structural schema does not declare, as the server does for custom resources."""
    if not isinstance(schema, Mapping) or schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        embedded = not path or schema.get("x-kubernetes-embedded-resource")
        for key in list(value):
            child_path = f"{path}.{key}" if path else key
            if embedded and key in ("apiVersion", "kind", "metadata"):
                continue
            if key in properties:
                prune_unknown(value[key], properties[key], child_path, unknown)
            elif isinstance(additional, Mapping):
                prune_unknown(value[key], additional, child_path, unknown)
            elif additional is not True:
                del value[key]
                unknown.append(child_path)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            prune_unknown(item, schema.get("items"), f"{path}[{i}]", unknown)


def apply_schema_defaults(value: Any, schema: Mapping[str, Any] | None, root: bool = False) -> None:
    """Fill ``default`` values of the schema into the maps that exist, as the server does for custom resources."""
    if not isinstance(schema, Mapping):
        return
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for key, child in properties.items():
            if root and key == "metadata":
                continue
            if key not in value and isinstance(child, Mapping) and "default" in child:
                value[key] = copy.deepcopy(child["default"])
            if key in value:
                apply_schema_defaults(value[key], child)
        additional = schema.get("additionalProperties")
        if isinstance(additional, Mapping):
            for key in value.keys() - properties.keys():
                apply_schema_defaults(value[key], additional)
    elif isinstance(value, list):
        for item in value:
            apply_schema_defaults(item, schema.get("items"))


# --- server-filled defaults of built-in kinds --------------------------------------------------------------------


def _default_namespace(obj: dict[str, Any]) -> None:
    obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj.setdefault("status", {}).setdefault("phase", "Active")


def _default_service(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        if "port" in port:
            port.setdefault("targetPort", port["port"])
    if spec["type"] != "ExternalName":
        spec.setdefault("internalTrafficPolicy", "Cluster")
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    obj.setdefault("status", {"loadBalancer": {}})


def _default_pod_template(spec: dict[str, Any]) -> None:
    template = spec.setdefault("template", {}).setdefault("spec", {})
    template.setdefault("restartPolicy", "Always")
    template.setdefault("terminationGracePeriodSeconds", 30)
    template.setdefault("dnsPolicy", "ClusterFirst")
    template.setdefault("schedulerName", "default-scheduler")
    template.setdefault("securityContext", {})
    for container in [*template.get("containers", []), *template.get("initContainers", [])]:
        image = str(container.get("image", ""))
        latest = ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest")
        container.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("resources", {})
        for port in container.get("ports") or []:
            port.setdefault("protocol", "TCP")


def _default_deployment(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    strategy = spec.setdefault("strategy", {"type": "RollingUpdate"})
    if strategy.get("type") == "RollingUpdate":
        strategy.setdefault("rollingUpdate", {"maxUnavailable": "25%", "maxSurge": "25%"})
    _default_pod_template(spec)


def _default_daemonset(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("revisionHistoryLimit", 10)
    strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
    if strategy.get("type") == "RollingUpdate":
        strategy.setdefault("rollingUpdate", {"maxUnavailable": 1, "maxSurge": 0})
    _default_pod_template(spec)


def _default_secret(obj: dict[str, Any]) -> None:
    obj.setdefault("type", "Opaque")
    # The server folds stringData into data; stringData is never stored.
    for key, value in (obj.pop("stringData", None) or {}).items():
        obj.setdefault("data", {})[key] = base64.b64encode(str(value).encode()).decode()


def _default_ingress(obj: dict[str, Any]) -> None:
    obj.setdefault("status", {"loadBalancer": {}})


def _default_crd(obj: dict[str, Any]) -> None:
    spec = obj.get("spec") or {}
    stored = [v["name"] for v in spec.get("versions") or [] if v.get("storage")]
    created = obj["metadata"].get("creationTimestamp") or _now()
    obj["status"] = {
        "acceptedNames": spec.get("names") or {},
        "storedVersions": stored,
        "conditions": [
            {"type": kind, "status": "True", "reason": reason, "message": message, "lastTransitionTime": created}
            for kind, reason, message in (
                ("NamesAccepted", "NoConflicts", "no conflicts found"),
                ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
            )
        ],
    }


_BUILTIN_DEFAULTS: dict[tuple[str, str], Callable[[dict[str, Any]], None]] = {
    ("", "Namespace"): _default_namespace,
    ("", "Service"): _default_service,
    ("", "Secret"): _default_secret,
    ("apps", "Deployment"): _default_deployment,
    ("apps", "DaemonSet"): _default_daemonset,
    ("networking.k8s.io", "Ingress"): _default_ingress,
    (_CRD_GROUP, "CustomResourceDefinition"): _default_crd,
}


# --- validation ----------------------------------------------------------------------------------------------------

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")


def _name_problem(rule: str, name: str) -> str | None:
    if rule == "label" and not (len(name) <= 63 and _DNS_LABEL.fullmatch(name)):
        return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'"
    if rule == "subdomain" and not (len(name) <= 253 and _DNS_SUBDOMAIN.fullmatch(name)):
        return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'"
    if rule == "segment" and (name in (".", "..") or "/" in name or "%" in name):
        return "may not be '.' or '..' and may not contain '/' or '%'"
    return None


def _label_key_problem(key: str) -> str | None:
    prefix, _, name = key.rpartition("/")
    if prefix and not (len(prefix) <= 253 and _DNS_SUBDOMAIN.fullmatch(prefix)):
        return "prefix part must be a lowercase RFC 1123 subdomain"
    if not (len(name) <= 63 and _QUALIFIED_NAME.fullmatch(name)):
        return "name part must be 63 characters or less, alphanumeric, '-', '_' or '.', alphanumeric at both ends"
    return None


def _label_value_problem(value: str) -> str | None:
    if value and not (len(value) <= 63 and _QUALIFIED_NAME.fullmatch(value)):
        return "a valid label must be 63 characters or less, alphanumeric, '-', '_' or '.', alphanumeric at both ends"
    return None


def _is_base64(value: Any) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, TypeError, ValueError):
        return False
    return isinstance(value, str)


def _decode_problems(rtype: ResourceType, obj: Mapping[str, Any]) -> str | None:
    """What a real server fails to decode (400): wrong JSON types where the Go types are strict."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        return "metadata must be an object"
    for field_name in ("labels", "annotations"):
        value = metadata.get(field_name)
        if value is not None and not (isinstance(value, dict) and all(isinstance(v, str) for v in value.values())):
            return f"metadata.{field_name} must be a map of strings"
    if (rtype.group, rtype.kind) == ("", "ConfigMap"):
        if not all(isinstance(v, str) for v in (obj.get("data") or {}).values()):
            return "ConfigMap data must be a map of strings"
        if not all(_is_base64(v) for v in (obj.get("binaryData") or {}).values()):
            return "ConfigMap binaryData values must be base64"
    if (rtype.group, rtype.kind) == ("", "Secret") and not all(_is_base64(v) for v in (obj.get("data") or {}).values()):
        return "Secret data values must be base64"
    return None


def invalid(rtype: ResourceType, name: str, causes: list[tuple[str, str, str]]) -> ApiError:
    """A 422 ``Invalid`` Status: causes are (reason, field, message)."""
    message = f'{rtype.kind} "{name}" is invalid: ' + ", ".join(f"{f}: {m}" for _, f, m in causes)
    details = {
        "name": name,
        "group": rtype.group,
        "kind": rtype.kind,
        "causes": [{"reason": reason, "message": m, "field": f} for reason, f, m in causes],
    }
    return ApiError(422, "Invalid", message, details)


def _validate(rtype: ResourceType, obj: Mapping[str, Any]) -> None:
    metadata = obj["metadata"]
    name = metadata["name"]
    causes: list[tuple[str, str, str]] = []
    if problem := _name_problem(rtype.name_rule, name):
        causes.append(("FieldValueInvalid", "metadata.name", f'Invalid value: "{name}": {problem}'))
    for key, value in (metadata.get("labels") or {}).items():
        if problem := _label_key_problem(key):
            causes.append(("FieldValueInvalid", "metadata.labels", f'Invalid value: "{key}": {problem}'))
        if problem := _label_value_problem(value):
            causes.append(("FieldValueInvalid", f"metadata.labels.{key}", f'Invalid value: "{value}": {problem}'))
    if rtype is CRD_TYPE:
        spec = obj.get("spec") or {}
        expected = f"{(spec.get('names') or {}).get('plural')}.{spec.get('group')}"
        if name != expected:
            causes.append(("FieldValueInvalid", "metadata.name", f'Invalid value: "{name}": must be {expected}'))
    if causes:
        raise invalid(rtype, name, causes)


# --- the cluster state -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """An object as stored: without apiVersion, kind and managedFields (rendered per request). Never mutated."""

    obj: dict[str, Any]
    managed: tuple[ManagedEntry, ...] = ()

    @property
    def resource_version(self) -> int:
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
        return "status" if self.subresource == "status" else "main"


@dataclass(frozen=True)
class WriteOptions:
    dry_run: bool = False
    field_validation: str = "Warn"  # Strict | Warn | Ignore


@dataclass
class WriteResult:
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
            self.create(Target(BUILTIN_TYPES[0], "v1", ""), body, _SEED_MANAGER, WriteOptions())
        self.seed_resource_version = self.resource_version

    def _seed_crd(self, document: Mapping[str, Any]) -> None:
        # The CRD documents are large and shared between resets: copy only what the server fills in.
        self.resource_version += 1
        metadata = {
            **document.get("metadata", {}),
            "uid": str(uuid.uuid4()),
            "resourceVersion": str(self.resource_version),
            "generation": 1,
            "creationTimestamp": _now(),
        }
        obj = {key: value for key, value in document.items() if key not in ("apiVersion", "kind")}
        obj["metadata"] = metadata
        _default_crd(obj)
        self._objects.setdefault((_CRD_GROUP, CRD_TYPE.plural), {})[("", metadata["name"])] = Stored(obj)

    def _refresh_types(self) -> None:
        self._types = {(t.group, t.plural): t for t in BUILTIN_TYPES}
        for stored in self._objects.get((_CRD_GROUP, CRD_TYPE.plural), {}).values():
            rtype = crd_resource_type(stored.obj)
            if rtype is not None:
                self._types.setdefault((rtype.group, rtype.plural), rtype)
        self._shapes.clear()

    # kinds

    def types(self) -> list[ResourceType]:
        return list(self._types.values())

    def resolve(self, group: str, version: str, plural: str) -> ResourceType | None:
        rtype = self._types.get((group, plural))
        return rtype if rtype is not None and version in rtype.versions else None

    def shape(self, rtype: ResourceType, version: str) -> Shape:
        key = (rtype.group, rtype.plural, version)
        if key not in self._shapes:
            self._shapes[key] = Shape(rtype, version)
        return self._shapes[key]

    # reads

    def find(self, target: Target) -> Stored | None:
        bucket = self._objects.get((target.rtype.group, target.rtype.plural), {})
        return bucket.get((target.namespace, target.name or ""))

    def get(self, target: Target) -> Stored:
        stored = self.find(target)
        if stored is None:
            raise _not_found(target)
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
        self._check_body(target, body)
        old = self.get(target)
        self._check_precondition(target, body, old)
        return self._update(target, old, body, manager, options)

    def patch(self, target: Target, patch: Any, content_type: str, manager: str, options: WriteOptions) -> WriteResult:
        old = self.get(target)
        current = copy.deepcopy(self.render(target.rtype, target.version, old))
        if content_type == JSON_PATCH:
            if not isinstance(patch, list):
                raise bad_request("a JSON patch must be a list of operations")
            try:
                patched = jsonpatch.apply_patch(current, patch)
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
                message = f"the server rejected our request due to an error in our request: {exc}"
                raise ApiError(422, "Invalid", message) from None
        else:
            if not isinstance(patch, dict):
                raise bad_request("a merge patch must be a JSON object")
            if content_type == STRATEGIC_MERGE_PATCH and _has_directives(patch):
                raise bad_request("strategic merge patch directives ($patch, $setElementOrder, ...) are not supported")
            patched = merge_patch(current, patch)
        self._check_body(target, patched)
        self._check_precondition(target, patched, old)
        return self._update(target, old, patched, manager, options)

    def apply(self, target: Target, config: Any, manager: str, force: bool, options: WriteOptions) -> WriteResult:
        """Server-side apply: ``config`` becomes exactly the set of fields ``manager`` owns."""
        if not isinstance(config, dict) or not config.get("apiVersion") or not config.get("kind"):
            raise bad_request("an applied configuration must be an object with apiVersion and kind set")
        self._check_body(target, config)
        old = self.find(target)
        if old is None and target.subresource:
            raise _not_found(target)
        self._check_precondition(target, config, old)
        rtype, scope = target.rtype, target.scope
        shape = self.shape(rtype, target.version)
        warnings = self._prune(target, config, options)
        applied = _written_part(rtype, config, scope)
        live = old.obj if old is not None else {"metadata": {}}
        managed = old.managed if old is not None else ()
        subresource = target.subresource or ""
        owned = field_set(applied, shape, scope)

        conflicts: list[tuple[ManagedEntry, FieldPath]] = []
        for entry in managed:
            if entry.is_owner(manager, "Apply", subresource):
                continue
            for path in sorted(owned & entry.fields):
                if not path[-1].startswith("k:") and value_at(live, path) != value_at(applied, path):
                    conflicts.append((entry, path))
        if conflicts and not force:
            raise _conflict_error(target, conflicts)
        taken = {path for _, path in conflicts}

        previous = next((e.fields for e in managed if e.is_owner(manager, "Apply", subresource)), frozenset())
        others = [e for e in managed if not e.is_owner(manager, "Apply", subresource)]
        held = {path[:i] for e in others for path in e.fields - taken for i in range(1, len(path) + 1)}
        obj = copy.deepcopy(live)
        for path in sorted(previous - owned, key=len, reverse=True):
            if path not in held and not _is_key_field(path):
                _remove(obj, path)
                _prune_empty_parents(obj, path[:-1], held | owned)
        obj = merge_applied(obj, applied, shape)
        self._finish(target, shape, obj, old)

        writer = ManagedEntry(
            manager, "Apply", rtype.api_version(target.version), subresource, _now(), frozenset(owned)
        )
        result: list[ManagedEntry] = []
        for entry in managed:
            if entry.is_owner(manager, "Apply", subresource):
                result.append(writer)  # entries keep their order, so a repeated apply compares equal
                continue
            fields = frozenset(p for p in entry.fields - taken if value_at(obj, p) is not _MISSING)
            if fields:
                result.append(replace(entry, fields=fields))
        if writer not in result:
            result.append(writer)
        self._allocate(target, obj, old)
        outcome = self._commit(target, old, obj, result, options)
        outcome.warnings.extend(warnings)
        return outcome

    def delete(self, target: Target, options: Any, dry_run: bool) -> Stored:
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
            manager, "Update", target.rtype.api_version(target.version), target.subresource or "", _now(), frozenset()
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
        if problem := _decode_problems(rtype, obj):
            raise bad_request(problem)
        _validate(rtype, obj)
        if shape.schema:
            apply_schema_defaults(obj, shape.schema, root=True)
        if default := _BUILTIN_DEFAULTS.get((rtype.group, rtype.kind)):
            default(obj)

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
        if old is not None and obj == old.obj and _ownership(managed) == _ownership(old.managed):
            return WriteResult(old, created=False, changed=False)
        metadata = obj["metadata"]
        if old is None:
            metadata.update(uid=str(uuid.uuid4()), creationTimestamp=_now(), generation=1)
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


def _not_found(target: Target) -> ApiError:
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


def _prune_empty_parents(obj: Any, path: FieldPath, keep: set[FieldPath]) -> None:
    """After a removal, drop the maps and lists it emptied unless someone owns them."""
    while path and path not in keep and value_at(obj, path) in ({}, []):
        _remove(obj, path)
        path = path[:-1]


def _has_directives(patch: Any) -> bool:
    if isinstance(patch, dict):
        return any(str(key).startswith("$") or _has_directives(value) for key, value in patch.items())
    if isinstance(patch, list):
        return any(_has_directives(item) for item in patch)
    return False


def _spec(obj: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in obj.items() if key not in ("metadata", "status")}


def _ownership(managed: Iterable[ManagedEntry]) -> list[tuple[str, str, str, str, frozenset[FieldPath]]]:
    return [entry.ownership() for entry in managed]


def _conflict_error(target: Target, conflicts: list[tuple[ManagedEntry, FieldPath]]) -> ApiError:
    causes = []
    for entry, path in conflicts:
        using = f" using {entry.api_version}" if entry.operation == "Update" else ""
        causes.append(
            {
                "type": "FieldManagerConflict",
                "message": f'conflict with "{entry.manager}"{using}',
                "field": format_field_path(path),
            }
        )
    summary = "; ".join(f"{cause['message']}: {cause['field']}" for cause in causes)
    plural = "conflict" if len(causes) == 1 else "conflicts"
    return ApiError(
        409,
        "Conflict",
        f"Apply failed with {len(causes)} {plural}: {summary}",
        target.rtype.details(target.name or "", causes=causes),
    )


# --- the HTTP server -------------------------------------------------------------------------------------------


@dataclass
class RequestRecord:
    """One API request as the double saw it."""

    method: str
    path: str
    query: dict[str, str]
    content_type: str
    field_manager: str = ""
    group: str = ""
    resource: str = ""  # as RBAC names it: the plural, "/status" appended for the subresource
    kind: str = ""
    namespace: str = ""
    name: str = ""
    body: Any = None
    status: int = 0
    changed: bool = False  # the request changed stored state

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Fault:
    """An injected failure: requests that match get ``status`` with ``message`` instead of an answer."""

    status: int
    message: str
    reason: str
    writes_only: bool = True
    skip: int = 0  # matching requests still let through
    persistent: bool = False  # fail every match until cleared, not just once
    after_commit: bool = False  # the write takes effect, only the answer is an error
    method: str | None = None
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None
    path_contains: str | None = None

    def matches(self, record: RequestRecord) -> bool:
        wanted = (
            (self.method, record.method),
            (self.kind, record.kind),
            (self.name, record.name),
            (self.namespace, record.namespace),
        )
        return (
            (record.is_write or not self.writes_only)
            and all(want is None or want == actual for want, actual in wanted)
            and (self.path_contains is None or self.path_contains in record.path)
        )

    def error(self) -> ApiError:
        headers = {"Retry-After": "1"} if self.status == 429 else {}
        details = {"causes": [{"message": self.message}], **({"retryAfterSeconds": 1} if headers else {})}
        return ApiError(self.status, self.reason, self.message, details, headers)


class _QuietRequestHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Tests read the double's request log instead."""


def _json_response(body: Any, status: int = 200, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=list(headers))


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


def _is_discovery_path(segments: list[str]) -> bool:
    """Discovery, version and health paths: everything but the resources themselves."""
    if not segments or segments[0] in ("version", "healthz", "livez", "readyz"):
        return True
    return (segments[0] == "api" and len(segments) <= 2) or (segments[0] == "apis" and len(segments) <= 3)


def _default_field_manager(user_agent: str) -> str:
    """The server's default manager name: the User-Agent up to its first "/"."""
    return user_agent.split("/", 1)[0].strip()[:128] or "unknown"


def _flag(value: str | None, name: str) -> bool:
    if value is None or value.lower() in ("false", "0", ""):
        return False
    if value.lower() in ("true", "1"):
        return True
    raise bad_request(f"invalid boolean value for {name}: {value!r}")


class KubernetesDouble:
    """The Kubernetes API double: a WSGI app over :class:`Cluster`, the test hooks, and a loopback server."""

    def __init__(self, crd_dir: str | Path = DEFAULT_CRD_DIR) -> None:
        self.crd_dir = Path(crd_dir)
        self.url = ""
        self._lock = threading.RLock()
        self._cluster = Cluster(load_crd_documents(self.crd_dir))
        self._log: list[RequestRecord] = []
        self._faults: list[Fault] = []
        self._write_delay = 0.0
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self, host: str = "127.0.0.1", port: int = 0) -> KubernetesDouble:
        """Serve in a background thread; ``port=0`` picks a free port. Sets and returns ``self`` with ``url``."""
        self._bind(host, port)
        assert self._server is not None
        self._thread = threading.Thread(target=self._server.serve_forever, name="k8s-double", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve in this thread until interrupted."""
        self._bind(host, port)
        assert self._server is not None
        print(f"Kubernetes API double listening on {self.url}", flush=True)
        try:
            self._server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self._server.server_close()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> KubernetesDouble:
        return self.start() if self._server is None else self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _bind(self, host: str, port: int) -> None:
        self._server = make_server(host, port, self, threaded=True, request_handler=_QuietRequestHandler)
        self.url = f"http://{host}:{self._server.server_port}"

    # test hooks

    def reset(self) -> None:
        """A fresh cluster (system namespaces and the CRDs), an empty request log, no faults."""
        with self._lock:
            self._cluster.reset()
            self._log.clear()
            self._faults.clear()
            self._write_delay = 0.0

    @property
    def requests(self) -> list[RequestRecord]:
        """The API requests since the last reset or :meth:`clear_requests`, oldest first (hooks not included)."""
        with self._lock:
            return [replace(record) for record in self._log]

    @property
    def write_count(self) -> int:
        """POST, PUT, PATCH and DELETE requests, whether or not they changed anything."""
        with self._lock:
            return sum(record.is_write for record in self._log)

    @property
    def read_count(self) -> int:
        with self._lock:
            return sum(not record.is_write for record in self._log)

    @property
    def changed_count(self) -> int:
        """Write requests that changed stored state (not no-ops, dry runs or rejected writes)."""
        with self._lock:
            return sum(record.changed for record in self._log)

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    def fail_nth_write(
        self,
        n: int = 1,
        *,
        status: int = 500,
        message: str = "injected failure",
        reason: str | None = None,
        kind: str | None = None,
        name: str | None = None,
        namespace: str | None = None,
        after_commit: bool = False,
    ) -> None:
        """Fail the ``n``-th write request from now (counting only writes to ``kind``/``name``/``namespace``)."""
        if n < 1:
            raise ValueError("n counts from 1")
        self._add_fault(
            Fault(
                status,
                message,
                reason or _REASONS.get(status, "InternalError"),
                skip=n - 1,
                after_commit=after_commit,
                kind=kind,
                name=name,
                namespace=namespace,
            )
        )

    def fail_requests(
        self,
        *,
        status: int = 500,
        message: str = "injected failure",
        reason: str | None = None,
        method: str | None = None,
        kind: str | None = None,
        name: str | None = None,
        namespace: str | None = None,
        path_contains: str | None = None,
        writes_only: bool = False,
        after_commit: bool = False,
    ) -> None:
        """Fail every matching request (reads too unless ``writes_only``) until :meth:`clear_faults`."""
        self._add_fault(
            Fault(
                status,
                message,
                reason or _REASONS.get(status, "InternalError"),
                writes_only=writes_only,
                persistent=True,
                after_commit=after_commit,
                method=method.upper() if method else None,
                kind=kind,
                name=name,
                namespace=namespace,
                path_contains=path_contains,
            )
        )

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._write_delay = 0.0

    def objects(
        self,
        kind: str | None = None,
        namespace: str | None = None,
        *,
        name: str | None = None,
        group: str | None = None,
        include_seed: bool = False,
    ) -> list[dict[str, Any]]:
        """Stored objects as the API would return them at their preferred version, sorted by kind, namespace, name.

        Objects of the fresh cluster (system namespaces, CRDs) are left out unless ``include_seed``.
        """
        with self._lock:
            cluster = self._cluster
            found = []
            for rtype in sorted(cluster.types(), key=lambda t: (t.kind, t.group)):
                if (kind and rtype.kind != kind) or (group is not None and rtype.group != group):
                    continue
                for stored in cluster.list(rtype, namespace or ""):
                    if name and stored.obj["metadata"]["name"] != name:
                        continue
                    if include_seed or stored.resource_version > cluster.seed_resource_version:
                        found.append(copy.deepcopy(cluster.render(rtype, rtype.versions[0], stored)))
            return found

    def get_object(
        self, kind: str, name: str, namespace: str | None = None, *, group: str | None = None
    ) -> dict[str, Any] | None:
        """One stored object (seeded ones included), or None."""
        found = self.objects(kind, namespace, name=name, group=group, include_seed=True)
        return found[0] if found else None

    def slow_writes(self, seconds: float) -> None:
        """Hold every write request this long before serving it (other requests go on meanwhile)."""
        with self._lock:
            self._write_delay = float(seconds)

    def _add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, record: RequestRecord) -> Fault | None:
        fired = None
        for fault in list(self._faults):
            if not fault.matches(record):
                continue
            if fault.skip > 0:
                fault.skip -= 1
            elif fired is None:
                fired = fault
                if not fault.persistent:
                    self._faults.remove(fault)
        return fired

    # WSGI

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self._hook(request) if request.path.startswith("/_double/") else self._api(request)
        return response(environ, start_response)

    def _hook(self, request: Request) -> Response:
        route = (request.method, request.path.removeprefix("/_double/").strip("/"))
        payload = request.get_json(silent=True) or {}
        try:
            if route == ("POST", "reset"):
                self.reset()
            elif route == ("GET", "requests"):
                with self._lock:
                    return _json_response(
                        {
                            "requests": [record.to_dict() for record in self._log],
                            "write_count": self.write_count,
                            "read_count": self.read_count,
                            "changed_count": self.changed_count,
                        }
                    )
            elif route == ("DELETE", "requests"):
                self.clear_requests()
            elif route == ("POST", "faults/nth-write"):
                self.fail_nth_write(**payload)
            elif route == ("POST", "faults/match"):
                self.fail_requests(**payload)
            elif route == ("DELETE", "faults"):
                self.clear_faults()
            elif route == ("POST", "faults/slow-writes"):
                self.slow_writes(**payload)
            elif route == ("GET", "objects"):
                args = request.args
                found = self.objects(
                    args.get("kind"),
                    args.get("namespace"),
                    name=args.get("name"),
                    group=args.get("group"),
                    include_seed=_flag(args.get("include_seed"), "include_seed"),
                )
                return _json_response({"items": found})
            else:
                return _json_response(_path_not_found().status(), 404)
        except (TypeError, ValueError, ApiError) as exc:
            return _json_response(bad_request(str(exc)).status(), 400)
        return _json_response({})

    def _api(self, request: Request) -> Response:
        record = RequestRecord(
            method=request.method,
            path=request.path,
            query=request.args.to_dict(),
            content_type=request.mimetype,
            field_manager=request.args.get("fieldManager", ""),
        )
        if self._write_delay and request.method in WRITE_METHODS:
            time.sleep(self._write_delay)
        with self._lock:
            try:
                response = self._dispatch(request, record)
            except ApiError as exc:
                response = _json_response(exc.status(), exc.code, exc.headers.items())
            record.status = response.status_code
            self._log.append(record)
        return response

    def _dispatch(self, request: Request, record: RequestRecord) -> Response:
        segments = [segment for segment in request.path.split("/") if segment]
        target = None if _is_discovery_path(segments) else self._target(segments)
        body = _read_body(request) if request.method in WRITE_METHODS else None
        record.body = copy.deepcopy(body)
        if target is not None:
            record.kind, record.namespace, record.name = target.rtype.kind, target.namespace, target.name or ""
            record.group = target.rtype.group
            record.resource = "/".join(filter(None, (target.rtype.plural, target.subresource)))
            if request.method == "POST" and isinstance(body, dict) and isinstance(body.get("metadata"), dict):
                record.name = body["metadata"].get("name") or ""
        fault = self._take_fault(record)
        if fault is not None and not fault.after_commit:
            raise fault.error()
        response = self._serve(request, target, body, record) if target else self._discovery(request, segments)
        if fault is not None:
            raise fault.error()
        return response

    # discovery

    def _discovery(self, request: Request, segments: list[str]) -> Response:
        cluster = self._cluster
        if not segments:
            return _json_response({"paths": ["/api", "/api/v1", "/apis", "/version"]})
        if segments == ["version"]:
            return _json_response(KUBERNETES_VERSION)
        if segments[0] in ("healthz", "livez", "readyz") and len(segments) == 1:
            return Response("ok", mimetype="text/plain")
        if segments == ["api"]:
            return _json_response(
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": request.host}],
                }
            )
        if segments == ["apis"]:
            groups = sorted({rtype.group for rtype in cluster.types() if rtype.group})
            return _json_response(
                {"kind": "APIGroupList", "apiVersion": "v1", "groups": [self._group(g) for g in groups]}
            )
        if segments[0] == "apis" and len(segments) == 2:
            if not any(rtype.group == segments[1] for rtype in cluster.types()):
                raise _path_not_found()
            return _json_response({"kind": "APIGroup", "apiVersion": "v1", **self._group(segments[1])})
        group = "" if segments[0] == "api" else segments[1]
        return self._resource_list(group, segments[-1])

    def _group(self, group: str) -> dict[str, Any]:
        versions = {version for rtype in self._cluster.types() if rtype.group == group for version in rtype.versions}
        entries = [
            {"groupVersion": f"{group}/{version}", "version": version}
            for version in sorted(versions, key=version_priority, reverse=True)
        ]
        return {"name": group, "versions": entries, "preferredVersion": entries[0]}

    def _resource_list(self, group: str, version: str) -> Response:
        rtypes = sorted(
            (rtype for rtype in self._cluster.types() if rtype.group == group and version in rtype.versions),
            key=lambda rtype: rtype.plural,
        )
        if not rtypes:
            raise _path_not_found()
        resources: list[dict[str, Any]] = []
        for rtype in rtypes:
            entry: dict[str, Any] = {
                "name": rtype.plural,
                "singularName": rtype.singular,
                "namespaced": rtype.namespaced,
                "kind": rtype.kind,
                "verbs": _VERBS,
            }
            if rtype.short_names:
                entry["shortNames"] = list(rtype.short_names)
            if rtype.categories:
                entry["categories"] = list(rtype.categories)
            resources.append(entry)
            if rtype.has_status:
                resources.append(
                    {
                        "name": f"{rtype.plural}/status",
                        "singularName": "",
                        "namespaced": rtype.namespaced,
                        "kind": rtype.kind,
                        "verbs": _STATUS_VERBS,
                    }
                )
        group_version = f"{group}/{version}" if group else version
        return _json_response(
            {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}
        )

    # resources

    def _target(self, segments: list[str]) -> Target:
        if segments[0] == "api" and len(segments) >= 3:
            group, version, rest = "", segments[1], segments[2:]
        elif segments[0] == "apis" and len(segments) >= 4:
            group, version, rest = segments[1], segments[2], segments[3:]
        else:
            raise _path_not_found()
        namespace = ""
        if len(rest) >= 3 and rest[0] == "namespaces":
            scoped = self._cluster.resolve(group, version, rest[2])
            if scoped is not None and scoped.namespaced:
                namespace, rest = rest[1], rest[2:]
        rtype = self._cluster.resolve(group, version, rest[0])
        if rtype is None or len(rest) > 3:
            raise _path_not_found()
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else None
        if (subresource and not (subresource == "status" and rtype.has_status)) or (
            rtype.namespaced and name and not namespace
        ):
            raise _path_not_found()
        return Target(rtype, version, namespace, name, subresource)

    def _serve(self, request: Request, target: Target, body: Any, record: RequestRecord) -> Response:
        method, args, cluster = request.method, request.args, self._cluster
        if args.get("watch") and _flag(args.get("watch"), "watch"):
            raise bad_request("the Kubernetes API double does not support watch")
        if method == "GET":
            if target.name is None:
                return self._list(target, args)
            return _json_response(cluster.render(target.rtype, target.version, cluster.get(target)))
        if method == "DELETE" and target.subresource is None:
            return self._delete(target, args, body, record)
        if method not in ("POST", "PUT", "PATCH") or (method == "POST") != (target.name is None):
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if method == "POST" and target.rtype.namespaced and not target.namespace:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

        options = self._write_options(args)
        content_type = request.mimetype
        manager = args.get("fieldManager") or _default_field_manager(request.user_agent.string)
        force = _flag(args.get("force"), "force")
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
        return _json_response(cluster.render(target.rtype, target.version, result.stored), status, warnings)

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
        return _json_response(
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
            return _json_response(
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
        return _json_response(
            {
                "kind": rtype.list_kind,
                "apiVersion": rtype.api_version(target.version),
                "metadata": {"resourceVersion": str(cluster.resource_version)},
                "items": items,
            }
        )


# --- a client for the hooks of a double in another process -------------------------------------------------------


class DoubleClient:
    """The test hooks of a double running in another process (``python -m tests.k8sdouble.server``), over HTTP."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        # Loopback: never through a proxy from the environment.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def _call(self, method: str, path: str, payload: Any = None, query: Mapping[str, Any] | None = None) -> Any:
        params = {key: value for key, value in (query or {}).items() if value is not None}
        url = f"{self.url}/_double/{path}" + (f"?{urlencode(params)}" if params else "")
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        with self._opener.open(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def reset(self) -> None:
        self._call("POST", "reset")

    @property
    def requests(self) -> list[RequestRecord]:
        return [RequestRecord(**record) for record in self._call("GET", "requests")["requests"]]

    @property
    def write_count(self) -> int:
        return self._call("GET", "requests")["write_count"]

    @property
    def read_count(self) -> int:
        return self._call("GET", "requests")["read_count"]

    @property
    def changed_count(self) -> int:
        return self._call("GET", "requests")["changed_count"]

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def fail_nth_write(self, n: int = 1, **options: Any) -> None:
        self._call("POST", "faults/nth-write", {"n": n, **options})

    def fail_requests(self, **options: Any) -> None:
        self._call("POST", "faults/match", options)

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def slow_writes(self, seconds: float) -> None:
        self._call("POST", "faults/slow-writes", {"seconds": seconds})

    def objects(
        self,
        kind: str | None = None,
        namespace: str | None = None,
        *,
        name: str | None = None,
        group: str | None = None,
        include_seed: bool = False,
    ) -> list[dict[str, Any]]:
        query = {"kind": kind, "namespace": namespace, "name": name, "group": group}
        return self._call("GET", "objects", query={**query, "include_seed": str(include_seed).lower()})["items"]

    def get_object(
        self, kind: str, name: str, namespace: str | None = None, *, group: str | None = None
    ) -> dict[str, Any] | None:
        found = self.objects(kind, namespace, name=name, group=group, include_seed=True)
        return found[0] if found else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the Kubernetes API double on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on start)")
    parser.add_argument("--crd-dir", default=str(DEFAULT_CRD_DIR), help="directory of CRD JSON files to serve")
    args = parser.parse_args(argv)
    KubernetesDouble(args.crd_dir).serve_forever(args.host, args.port)


if __name__ == "__main__":
    main()
