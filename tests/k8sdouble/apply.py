"""Server-side apply: a manager's configuration becomes exactly the set of fields it owns.

Fields another manager owns with a different value conflict unless the apply is forced; fields the manager stops
applying are removed unless another manager still holds them; maps merge recursively and keyed lists item by item.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import ApiError
from .kinds import ResourceType
from .managedfields import (
    MISSING,
    FieldPath,
    ManagedEntry,
    Shape,
    field_set,
    format_field_path,
    is_key_field,
    item_marker,
    remove_field,
    value_at,
)

Conflict = tuple[ManagedEntry, FieldPath]


def merge_applied(live: Any, applied: Any, shape: Shape, spath: tuple[str, ...] = ()) -> Any:
    """Server-side apply's merge: maps recursively, keyed lists item by item, anything else replaced."""
    if isinstance(live, dict) and isinstance(applied, dict):
        merged = dict(live)
        for key, value in applied.items():
            merged[key] = merge_applied(live[key], value, shape, (*spath, key)) if key in live else copy.deepcopy(value)
        return merged
    if isinstance(live, list) and isinstance(applied, list) and (keys := shape.list_keys(spath, [*live, *applied])):
        merged_items = list(live)
        index = {item_marker(item, keys): i for i, item in enumerate(merged_items)}
        for item in applied:
            marker = item_marker(item, keys)
            if marker in index:
                merged_items[index[marker]] = merge_applied(merged_items[index[marker]], item, shape, spath)
            else:
                index[marker] = len(merged_items)
                merged_items.append(copy.deepcopy(item))
        return merged_items
    return copy.deepcopy(applied)


@dataclass(frozen=True)
class ServerSideApply:
    """One manager's apply of a configuration (``applied``, already cut to ``scope``) to the ``live`` object."""

    shape: Shape
    scope: str  # "main" or "status"
    manager: str
    subresource: str
    live: Mapping[str, Any]
    managed: tuple[ManagedEntry, ...]
    applied: Mapping[str, Any]
    owned: frozenset[FieldPath] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "owned", frozenset(field_set(self.applied, self.shape, self.scope)))

    def _is_mine(self, entry: ManagedEntry) -> bool:
        return entry.is_owner(self.manager, "Apply", self.subresource)

    def conflicts(self) -> list[Conflict]:
        """The fields another manager owns that the configuration sets to a different value."""
        found: list[Conflict] = []
        for entry in self.managed:
            if self._is_mine(entry):
                continue
            for path in sorted(self.owned & entry.fields):
                if not path[-1].startswith("k:") and value_at(self.live, path) != value_at(self.applied, path):
                    found.append((entry, path))
        return found

    def merged(self, taken: set[FieldPath]) -> dict[str, Any]:
        """The object after the apply, before the server's defaults: ``taken`` are the fields forced away."""
        previous = next((e.fields for e in self.managed if self._is_mine(e)), frozenset())
        others = [e for e in self.managed if not self._is_mine(e)]
        held = {path[:i] for e in others for path in e.fields - taken for i in range(1, len(path) + 1)}
        obj = copy.deepcopy(dict(self.live))
        for path in sorted(previous - self.owned, key=len, reverse=True):
            if path not in held and not is_key_field(path):
                remove_field(obj, path)
                _prune_empty_parents(obj, path[:-1], held | self.owned)
        return merge_applied(obj, self.applied, self.shape)

    def managed_fields(self, writer: ManagedEntry, taken: set[FieldPath], obj: Mapping[str, Any]) -> list[ManagedEntry]:
        """The object's entries after the apply: ``writer`` in the manager's place, others without what it took."""
        result: list[ManagedEntry] = []
        for entry in self.managed:
            if self._is_mine(entry):
                result.append(writer)  # entries keep their order, so a repeated apply compares equal
                continue
            fields = frozenset(p for p in entry.fields - taken if value_at(obj, p) is not MISSING)
            if fields:
                result.append(replace(entry, fields=fields))
        if writer not in result:
            result.append(writer)
        return result


def _prune_empty_parents(obj: Any, path: FieldPath, keep: set[FieldPath] | frozenset[FieldPath]) -> None:
    """After a removal, drop the maps and lists it emptied unless someone owns them."""
    while path and path not in keep and value_at(obj, path) in ({}, []):
        remove_field(obj, path)
        path = path[:-1]


def conflict_error(rtype: ResourceType, name: str, conflicts: list[Conflict]) -> ApiError:
    """The 409 a non-forced apply gets, one ``FieldManagerConflict`` cause per conflicting field."""
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
        rtype.details(name, causes=causes),
    )
