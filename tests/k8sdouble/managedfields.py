"""Field ownership (``metadata.managedFields``): which manager owns which fields of an object.

A field path is a tuple of Kubernetes fieldsV1 elements: "f:spec" for a map key, 'k:{"name":"http"}' for the item
of a keyed list. A manager owns a set of paths; leaves, atomic lists and keyed-list items are owned. Server-side
apply (:mod:`.apply`) and every other write (:func:`claim_update`) change ownership through this module.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from .kinds import ResourceType
from .schemas import schema_at

FieldPath = tuple[str, ...]
MISSING: Any = object()

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


def item_marker(item: Mapping[str, Any], keys: Iterable[str]) -> str:
    """The path element of a keyed-list item: ``k:{"name":"http"}``."""
    return "k:" + json.dumps({k: item[k] for k in keys}, separators=(",", ":"), sort_keys=True)


def item_matches(item: Any, key: Mapping[str, Any]) -> bool:
    """Whether a list item has the values of a keyed-list item's key."""
    return isinstance(item, dict) and all(item.get(k, MISSING) == v for k, v in key.items())


def _collect(value: Any, path: FieldPath, spath: tuple[str, ...], shape: Shape, out: set[FieldPath]) -> None:
    if isinstance(value, dict) and value:
        for key, child in value.items():
            _collect(child, (*path, f"f:{key}"), (*spath, key), shape, out)
    elif isinstance(value, list) and (keys := shape.list_keys(spath, value)):
        for item in value:
            item_path = (*path, item_marker(item, keys))
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
    """The value at a field path, or ``MISSING``."""
    current = obj
    for element in path:
        if element.startswith("f:"):
            if not isinstance(current, dict) or element[2:] not in current:
                return MISSING
            current = current[element[2:]]
        else:
            key = json.loads(element[2:])
            if not isinstance(current, list):
                return MISSING
            current = next((item for item in current if item_matches(item, key)), MISSING)
            if current is MISSING:
                return MISSING
    return current


def remove_field(obj: Any, path: FieldPath) -> None:
    """Remove the field (map key or keyed-list item) at ``path`` from ``obj``, in place; a missing one is no error."""
    parent, element = value_at(obj, path[:-1]), path[-1]
    if element.startswith("f:") and isinstance(parent, dict):
        parent.pop(element[2:], None)
    elif element.startswith("k:") and isinstance(parent, list):
        key = json.loads(element[2:])
        parent[:] = [item for item in parent if not item_matches(item, key)]


def is_key_field(path: FieldPath) -> bool:
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
        """Whether this is the entry of ``manager`` writing by ``operation`` to ``subresource``."""
        return (self.manager, self.operation, self.subresource) == (manager, operation, subresource)

    def ownership(self) -> tuple[str, str, str, str, frozenset[FieldPath]]:
        """The entry without its time: two writes that own the same fields compare equal."""
        return (self.manager, self.operation, self.api_version, self.subresource, self.fields)

    def render(self) -> dict[str, Any]:
        """The entry as the API returns it in ``metadata.managedFields``."""
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
        fields = {path for path in entry.fields if value_at(new, path) is not MISSING}
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


def ownership(managed: Iterable[ManagedEntry]) -> list[tuple[str, str, str, str, frozenset[FieldPath]]]:
    """What an object's entries say about ownership, times left out, for telling a no-op write."""
    return [entry.ownership() for entry in managed]
