"""PATCH bodies: the media types the server takes, JSON patch (RFC 6902) and merge patch (RFC 7386).

Strategic merge patches are served as merge patches; their directives (``$patch``...) are refused rather than
misread. Apply patches are server-side apply (:mod:`.apply`).
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch

from .errors import ApiError, bad_request

APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH)


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


def patched(current: dict[str, Any], patch: Any, content_type: str) -> Any:
    """``current`` with a JSON, merge or strategic merge ``patch`` applied; a patch that cannot apply is an error."""
    if content_type == JSON_PATCH:
        if not isinstance(patch, list):
            raise bad_request("a JSON patch must be a list of operations")
        try:
            return jsonpatch.apply_patch(current, patch)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            message = f"the server rejected our request due to an error in our request: {exc}"
            raise ApiError(422, "Invalid", message) from None
    if not isinstance(patch, dict):
        raise bad_request("a merge patch must be a JSON object")
    if content_type == STRATEGIC_MERGE_PATCH and _has_directives(patch):
        raise bad_request("strategic merge patch directives ($patch, $setElementOrder, ...) are not supported")
    return merge_patch(current, patch)


def _has_directives(patch: Any) -> bool:
    if isinstance(patch, dict):
        return any(str(key).startswith("$") or _has_directives(value) for key, value in patch.items())
    if isinstance(patch, list):
        return any(_has_directives(item) for item in patch)
    return False
