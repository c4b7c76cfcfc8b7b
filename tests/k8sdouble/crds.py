"""CustomResourceDefinitions: read from a directory of JSON files, turned into kinds the double serves.

The default directory is the repository's vendored copy (``provisioning/crds/``), the same schemas the portal's
preflight validates against.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .clock import now
from .kinds import ResourceType, version_priority

DEFAULT_CRD_DIR = Path(__file__).resolve().parents[2] / "provisioning" / "crds"


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


def fill_crd_status(obj: dict[str, Any]) -> None:
    """The status the server gives a CRD it accepts: names accepted, established, its stored versions."""
    spec = obj.get("spec") or {}
    stored = [v["name"] for v in spec.get("versions") or [] if v.get("storage")]
    created = obj["metadata"].get("creationTimestamp") or now()
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
