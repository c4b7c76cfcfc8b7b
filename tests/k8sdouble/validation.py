"""What the server refuses in an object a write produces: values it cannot decode (400) and invalid names and
labels (422 ``Invalid``, with one cause per field)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from .errors import ApiError
from .kinds import CRD_TYPE, ResourceType

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


def decode_problem(rtype: ResourceType, obj: Mapping[str, Any]) -> str | None:
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


def validate(rtype: ResourceType, obj: Mapping[str, Any]) -> None:
    """Raise ``Invalid`` when the object's name or labels break the API's rules (or a CRD is misnamed)."""
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
