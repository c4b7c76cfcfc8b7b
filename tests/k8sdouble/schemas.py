"""The structural schemas of custom resources: looking a field up, and pruning what they do not declare."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


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
