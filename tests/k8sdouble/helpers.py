"""Bodies and readers shared by the double's tests."""

from __future__ import annotations

import json
from typing import Any


def config_map(name: str, namespace: str, data: dict[str, str], labels: dict[str, str] | None = None) -> dict:
    """A ConfigMap manifest."""
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels is not None:
        metadata["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


def service(name: str, namespace: str, ports: list[dict[str, Any]]) -> dict:
    """A Service manifest selecting ``app: name``."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": {"app": name}, "ports": ports},
    }


def managers(obj: Any) -> dict[str, dict]:
    """managedFields by "manager/operation"."""
    entries = obj.to_dict()["metadata"].get("managedFields") or []
    return {f"{entry['manager']}/{entry['operation']}": entry["fieldsV1"] for entry in entries}


def error_body(exc: Exception) -> dict:
    """The ``Status`` body of a client error."""
    return json.loads(exc.body)
