"""Preflight: strict schema validation of generated Kubernetes objects before anything is applied.

Built-in kinds are checked against the Kubernetes OpenAPI schema shipped by ``kubernetes-validate`` (its strict
variant: unknown fields are errors). Custom resources are checked against ``openAPIV3Schema`` of their CRD, tightened
the way the API server's strict field validation behaves: ``properties`` are closed unless the schema preserves
unknown fields. CEL rules (``x-kubernetes-validations``) are not evaluated.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes.client
import yaml
from django.conf import settings
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.protocols import Validator
from kubernetes_validate import utils as kubernetes_validate
from packaging.version import Version
from referencing import Registry, Resource

from .spec import DNS1123_LABEL, DNS1123_LABEL_MAX_LENGTH, DNS1123_LABEL_PATTERN, is_dns1123_label

DEFAULT_KUBERNETES_VERSION = "1.33"
CRD_API_VERSION = "apiextensions.k8s.io/v1"
# The upstream CRD schemas the project validates against, vendored (provisioning/crds/README.md names each one).
VENDORED_CRD_DIR = Path(__file__).resolve().parent / "crds"

# The $id of kubernetes-validate's shared definitions; built-in and CRD schemas both resolve ObjectMeta there.
_DEFINITIONS_URI = "https://kubernetes.io/api/_definitions.json"
_OBJECT_META = {"$ref": f"{_DEFINITIONS_URI}#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}

_DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(rf"{DNS1123_LABEL_PATTERN}(\.{DNS1123_LABEL_PATTERN})*")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_PLAIN_PATH_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
# Most names are DNS subdomains; names that become a hostname or a namespace are stricter, and RBAC names
# may be any path segment (e.g. "payments:view").
_SUBDOMAIN_NAME = (_DNS1123_SUBDOMAIN, 253, "a DNS-1123 subdomain (lowercase alphanumerics, '-' and '.', at most 253)")
_NAME_RULES = {
    ("", "Namespace"): (
        DNS1123_LABEL,
        DNS1123_LABEL_MAX_LENGTH,
        "a DNS-1123 label (lowercase alphanumerics and '-', at most 63)",
    ),
    ("", "Service"): (
        _DNS1035_LABEL,
        63,
        "a DNS-1035 label (lowercase alphanumerics and '-', starting with a letter, at most 63)",
    ),
}
_PATH_SEGMENT_NAMED_KINDS = frozenset(
    ("rbac.authorization.k8s.io", kind) for kind in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
)
_ANNOTATIONS_MAX_BYTES = 256 * 1024

# The JSON Schema keywords of an OpenAPI v3 structural schema that constrain values; everything else
# (descriptions, defaults, CEL rules, other extensions) is dropped so validation walks smaller schemas.
_VALUE_KEYWORDS = frozenset(
    {
        "type",
        "enum",
        "format",
        "pattern",
        "required",
        "minimum",
        "maximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minProperties",
        "maxProperties",
        "x-kubernetes-list-type",
        "x-kubernetes-list-map-keys",
    }
)
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}


@dataclass(frozen=True, order=True)
class Violation:
    """One reason the API server would reject a manifest: which object, which field, what is wrong."""

    obj: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.obj}: {self.path}: {self.message}" if self.path else f"{self.obj}: {self.message}"


class PreflightError(Exception):
    """Raised by :meth:`SchemaValidator.check` with every violation found."""

    def __init__(self, violations: list[Violation]) -> None:
        super().__init__("\n".join(str(v) for v in violations))
        self.violations = violations


class _NoSchemaError(Exception):
    pass


# --- formats and list semantics the API server enforces ---------------------------------------------------------

_FORMATS = jsonschema.FormatChecker(formats=())


@_FORMATS.checks("byte", raises=(binascii.Error, ValueError))
def _is_base64(value: object) -> bool:
    # Secret data and other []byte fields travel base64-encoded; anything else fails to decode server-side.
    if isinstance(value, str):
        base64.b64decode(value, validate=True)
    return True


@_FORMATS.checks("int32")
def _is_int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


@_FORMATS.checks("int64")
def _is_int64(value: object) -> bool:
    return not isinstance(value, int) or -(2**63) <= value < 2**63


def _unique_list_entries(
    validator: Any, list_type: str, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """Set-lists may not repeat an item and map-lists may not repeat a key, as the API server rejects both."""
    if list_type not in ("set", "map") or not isinstance(instance, list):
        return
    map_keys = schema.get("x-kubernetes-list-map-keys", [])
    seen: dict[str, int] = {}
    for index, item in enumerate(instance):
        if list_type == "set":
            identity = json.dumps(item, sort_keys=True)
        elif isinstance(item, Mapping):
            identity = ", ".join(f"{key}={item.get(key)!r}" for key in map_keys)
        else:
            continue
        if identity in seen:
            yield ValidationError(f"duplicate entry ({identity}), first at [{seen[identity]}]", path=[index])
        seen.setdefault(identity, index)


_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"x-kubernetes-list-type": _unique_list_entries}
)


# --- built-in kinds ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _BuiltinSchemas:
    registry: Registry
    definitions: dict[tuple[str, str, str], str]  # (group, version, kind) -> definition name
    groups: frozenset[str]


def _shipped_version(requested: str) -> str:
    """The schema set kubernetes-validate ships for the requested minor version (e.g. "1.33" -> "1.33.0")."""
    wanted = Version(requested.removeprefix("v"))
    shipped = [v for v in kubernetes_validate.all_versions() if Version(v).release[:2] == wanted.release[:2]]
    if not shipped:
        available = kubernetes_validate.all_versions()
        raise ValueError(
            f"kubernetes-validate ships no schemas for Kubernetes {requested} (has {available[0]} to {available[-1]})"
        )
    return shipped[-1]


@functools.cache
def _builtin_schemas(version: str) -> _BuiltinSchemas:
    definitions = kubernetes_validate.schema_contents(
        f"kubernetes-json-schema/v{version}-local-strict/_definitions.json", version
    )
    index = {
        (gvk["group"], gvk["version"], gvk["kind"]): name
        for name, definition in definitions["$defs"].items()
        for gvk in definition.get("x-kubernetes-group-version-kind", ())
    }
    return _BuiltinSchemas(
        registry=Registry().with_resource(_DEFINITIONS_URI, Resource.from_contents(definitions)),
        definitions=index,
        groups=frozenset(group for group, _, _ in index),
    )


# --- custom resources -------------------------------------------------------------------------------------------


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _strict(node: Mapping[str, Any], *, structural: bool = True) -> dict[str, Any]:
    """Translate one OpenAPI v3 structural schema node into JSON Schema with the API server's strictness.

    ``structural`` is false inside allOf/anyOf/oneOf/not: those branches only add value constraints to the
    fields declared outside them, so they must never be closed.
    """
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: _strict(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, Mapping):
            out[key] = _strict(value)
        elif key == "not":
            out[key] = _strict(value, structural=False)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [_strict(sub, structural=False) for sub in value]
        elif key in _VALUE_KEYWORDS or key == "additionalProperties":  # a boolean here
            out[key] = value
    # OpenAPI v3.0 marks a bound exclusive with a boolean; JSON Schema 2020-12 takes the bound itself.
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if node.get(exclusive) is True and bound in out:
            out[exclusive] = out.pop(bound)
    if node.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
        # The generated anyOf [{type: integer}, {type: string}] only restates the type and would reject null.
        if all(set(branch) == {"type"} for branch in out.get("anyOf", ())):
            out.pop("anyOf", None)
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [*_as_list(out["type"]), "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if node.get("x-kubernetes-embedded-resource"):
        properties = out.setdefault("properties", {})
        properties.setdefault("apiVersion", {"type": "string"})
        properties.setdefault("kind", {"type": "string"})
        properties["metadata"] = _OBJECT_META
        out["required"] = sorted({*out.get("required", ()), "apiVersion", "kind"})
    is_object = "object" in _as_list(node.get("type", [])) or "properties" in node
    # Kubernetes prunes (and strict field validation rejects) fields a structural schema does not declare.
    if (
        structural
        and is_object
        and "additionalProperties" not in out
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def _crd_root_schema(open_api_schema: Mapping[str, Any]) -> dict[str, Any]:
    root = _strict(open_api_schema)
    root["type"] = "object"
    # CRD schemas usually declare metadata as a bare object; the API server validates it as ObjectMeta.
    root.setdefault("properties", {}).update(
        apiVersion={"type": "string"}, kind={"type": "string"}, metadata=_OBJECT_META
    )
    return root


def _crds_in(document: Any) -> Iterator[Mapping[str, Any]]:
    """CRDs in a parsed file: a CRD, a list of them, or a ``kind: *List`` document with ``items``."""
    if isinstance(document, list):
        for item in document:
            yield from _crds_in(item)
    elif isinstance(document, Mapping):
        if document.get("kind") == "CustomResourceDefinition" and document.get("apiVersion") == CRD_API_VERSION:
            yield document
        elif str(document.get("kind", "")).endswith("List"):
            yield from _crds_in(document.get("items", []))


def load_crds(directory: str | Path) -> list[Mapping[str, Any]]:
    """Every ``apiextensions.k8s.io/v1`` CRD in the JSON and YAML files of ``directory`` (not recursive)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise NotADirectoryError(f"CRD directory {directory} does not exist or is not a directory")
    crds: list[Mapping[str, Any]] = []
    for path in sorted(directory.iterdir()):
        if path.suffix == ".json":
            # JSON is YAML too, but the json module parses multi-megabyte CRD bundles far faster.
            crds.extend(_crds_in(json.loads(path.read_text())))
        elif path.suffix in (".yaml", ".yml"):
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            crds.extend(_crds_in(list(yaml.load_all(path.read_text(), Loader=loader))))
    return crds


# --- metadata rules that hold for every kind --------------------------------------------------------------------


def _json_type(value: Any) -> str:
    return "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)


def _qualified_key_problem(key: str) -> str | None:
    prefix, slash, name = key.rpartition("/")
    if slash and (len(prefix) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(prefix)):
        return "key prefix must be a DNS-1123 subdomain"
    if len(name) > 63 or not _QUALIFIED_NAME.fullmatch(name):
        return "key name must be at most 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric"
    return None


def _name_problem(group: str, kind: str, name: str) -> str | None:
    if (group, kind) in _PATH_SEGMENT_NAMED_KINDS:
        if name in (".", "..") or "/" in name or "%" in name:
            return f"{name!r} may not be '.' or '..' or contain '/' or '%'"
        return None
    pattern, max_length, rule = _NAME_RULES.get((group, kind), _SUBDOMAIN_NAME)
    if len(name) > max_length or not pattern.fullmatch(name):
        return f"{name!r} must be {rule}"
    return None


def _metadata_problems(group: str, kind: str, metadata: Any) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if not isinstance(metadata, Mapping):
        yield ("metadata",), "required object is missing"
        return
    name = metadata.get("name")
    if not name and not metadata.get("generateName"):
        yield ("metadata", "name"), "is required"
    elif isinstance(name, str) and (problem := _name_problem(group, kind, name)):
        yield ("metadata", "name"), problem
    namespace = metadata.get("namespace")
    if isinstance(namespace, str) and not is_dns1123_label(namespace):
        yield ("metadata", "namespace"), f"{namespace!r} must be a DNS-1123 label"
    for field in ("labels", "annotations"):
        entries = metadata.get(field)
        if not isinstance(entries, Mapping):
            continue  # absent, or a type error the schema reports
        for key, value in entries.items():
            path = ("metadata", field, key)
            # The API server lower-cases annotation keys, not label keys, before checking their syntax.
            if problem := _qualified_key_problem(key.lower() if field == "annotations" else key):
                yield path, problem
            elif not isinstance(value, str):
                yield path, f"value must be a string, got {_json_type(value)}"
            elif field == "labels" and value and (len(value) > 63 or not _QUALIFIED_NAME.fullmatch(value)):
                yield path, f"{value!r} is not a valid label value (at most 63 alphanumerics, '-', '_' or '.')"
        if field == "annotations":
            size = sum(len(str(k)) + len(str(v)) for k, v in entries.items())
            if size > _ANNOTATIONS_MAX_BYTES:
                yield ("metadata", field), f"total size {size} exceeds {_ANNOTATIONS_MAX_BYTES} bytes"


# --- turning jsonschema errors into short messages --------------------------------------------------------------


def _format_path(parts: Iterable[str | int]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_PATH_KEY.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, default=str) if isinstance(value, (dict, list)) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _either(types: list[str]) -> str:
    """``["string", "null", "integer"]`` -> ``"string, integer or null"``."""
    unique = sorted(dict.fromkeys(types), key=lambda t: t == "null")
    return unique[0] if len(unique) == 1 else f"{', '.join(unique[:-1])} or {unique[-1]}"


def _exclusive_fields(branches: list[Mapping[str, Any]]) -> list[str]:
    """Field names of a ``oneOf`` that only says "at most one of these may be set" (Istio's oneof fields)."""
    names = [name for branch in branches for name in branch.get("required", ())]
    plain = all(set(branch) in ({"required"}, {"not"}) for branch in branches)
    return names if plain else []


def _describe(error: ValidationError) -> Iterator[tuple[tuple[str | int, ...], str]]:
    path = tuple(error.absolute_path)
    keyword, expected, instance = error.validator, error.validator_value, error.instance
    if keyword == "additionalProperties" and expected is False:
        declared = error.schema.get("properties", {})
        for key in instance:
            if key not in declared:
                hint = difflib.get_close_matches(key, declared, n=1)
                yield (*path, key), "unknown field" + (f" (did you mean {hint[0]!r}?)" if hint else "")
    elif keyword == "type":
        yield path, f"expected {_either(_as_list(expected))}, got {_json_type(instance)}"
    elif keyword in ("oneOf", "anyOf") and not error.context:
        # No context: nothing failed, so more than one oneOf branch matched.
        fields = [name for name in _exclusive_fields(expected) if name in instance]
        if fields:
            yield path, f"{', '.join(fields)} are mutually exclusive; set at most one"
        else:
            yield path, "matches more than one of the allowed forms"
    elif keyword in ("oneOf", "anyOf"):
        if all(sub.validator == "type" and not sub.path for sub in error.context):
            types = [t for sub in error.context for t in _as_list(sub.validator_value)]
            yield path, f"expected {_either(types)}, got {_json_type(instance)}"
        else:
            yield from _describe(best_match(error.context))
    elif keyword == "format":
        yield path, f"{_short(instance)} is not a valid {expected} value"
    elif keyword == "enum":
        yield path, f"{_short(instance)} is not one of {expected!r}"
    else:
        yield path, error.message if len(error.message) <= 200 else error.message[:199] + "…"


def _object_name(manifest: Mapping[str, Any]) -> str:
    kind = manifest.get("kind") or "object"
    metadata = manifest.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    name = metadata.get("name") or "<unnamed>"
    namespace = metadata.get("namespace")
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


# --- the validator ----------------------------------------------------------------------------------------------


class SchemaValidator:
    """Validates manifests the way a strict API server would: built-in kinds and CRD-defined custom resources.

    Compiled validators are cached per (apiVersion, kind), so one instance can check thousands of objects cheaply.
    """

    def __init__(
        self, crds: Iterable[Mapping[str, Any]] = (), kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
    ) -> None:
        self.kubernetes_version = _shipped_version(kubernetes_version)
        self._builtin = _builtin_schemas(self.kubernetes_version)
        self._crd_schemas: dict[tuple[str, str, str], Mapping[str, Any]] = {}
        self._crd_versions: dict[tuple[str, str], list[str]] = {}  # (group, kind) -> served versions
        self._validators: dict[tuple[str, str], Validator] = {}
        for crd in crds:
            spec = crd["spec"]
            group, kind = spec["group"], spec["names"]["kind"]
            served = [v for v in spec["versions"] if v.get("served", True)]
            self._crd_versions[(group, kind)] = [v["name"] for v in served]
            for version in served:
                self._crd_schemas[(group, version["name"], kind)] = version["schema"]["openAPIV3Schema"]

    @classmethod
    def from_crd_dir(
        cls, directory: str | Path, kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
    ) -> SchemaValidator:
        """Custom resources validated against the CRD files (JSON or YAML) in ``directory``."""
        return cls(load_crds(directory), kubernetes_version)

    @classmethod
    def from_cluster(
        cls, api_client: kubernetes.client.ApiClient, kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
    ) -> SchemaValidator:
        """Custom resources validated against the CRDs installed in the cluster behind ``api_client``."""
        # Raw JSON rather than the client's models: JSONSchemaProps does not round-trip keys such as
        # "not" or "x-kubernetes-int-or-string" faithfully, and deserializing big CRDs into models is slow.
        response = kubernetes.client.ApiextensionsV1Api(api_client).list_custom_resource_definition(
            _preload_content=False
        )
        return cls(json.loads(response.data)["items"], kubernetes_version)

    @classmethod
    def from_settings(cls) -> SchemaValidator:
        """CRDs from ``settings.PORTAL_CRD_DIR`` when set, else built-in kinds only.

        Returns one shared instance per directory so its compiled validators outlive a single task.
        """
        return _validator_for_dir(settings.PORTAL_CRD_DIR or "")

    def has_schema(self, api_version: str, kind: str) -> bool:
        """Whether this validator knows the kind (built in, or from a served CRD version)."""
        group, _, version = api_version.rpartition("/")
        return (group, version, kind) in self._builtin.definitions or (group, version, kind) in self._crd_schemas

    def validate(self, manifest: Mapping[str, Any]) -> list[Violation]:
        """Every violation in one manifest; an empty list means the API server would accept it."""
        if not isinstance(manifest, Mapping):
            return [Violation("object", "", f"a manifest must be an object, got {_json_type(manifest)}")]
        obj = _object_name(manifest)
        api_version, kind = manifest.get("apiVersion"), manifest.get("kind")
        if not (isinstance(api_version, str) and api_version and isinstance(kind, str) and kind):
            return [Violation(obj, "", "apiVersion and kind must be non-empty strings")]
        group = api_version.rpartition("/")[0]
        problems = dict(_metadata_problems(group, kind, manifest.get("metadata")))
        try:
            validator = self._validator(api_version, kind)
        except _NoSchemaError as missing:
            return sorted([Violation(obj, "", str(missing)), *self._violations(obj, problems.items())])
        # One message per field: the metadata rules above already say more than the schema's type error would.
        found = [item for error in validator.iter_errors(manifest) for item in _describe(error)]
        found = [(path, message) for path, message in found if path not in problems]
        return sorted(self._violations(obj, [*problems.items(), *found]))

    def validate_all(self, manifests: Iterable[Mapping[str, Any]]) -> list[Violation]:
        """Every violation in all ``manifests``, in input order."""
        return [violation for manifest in manifests for violation in self.validate(manifest)]

    def check(self, manifests: Iterable[Mapping[str, Any]]) -> None:
        """Raise :class:`PreflightError` listing every violation, if there is any."""
        if violations := self.validate_all(manifests):
            raise PreflightError(violations)

    @staticmethod
    def _violations(obj: str, problems: Iterable[tuple[tuple[str | int, ...], str]]) -> list[Violation]:
        return [Violation(obj, _format_path(path), message) for path, message in problems]

    def _validator(self, api_version: str, kind: str) -> Validator:
        key = (api_version, kind)
        if key not in self._validators:
            self._validators[key] = _Validator(
                self._schema(api_version, kind), registry=self._builtin.registry, format_checker=_FORMATS
            )
        return self._validators[key]

    def _schema(self, api_version: str, kind: str) -> dict[str, Any]:
        group, _, version = api_version.rpartition("/")
        if name := self._builtin.definitions.get((group, version, kind)):
            return {"$ref": f"{_DEFINITIONS_URI}#/$defs/{name}"}
        if (open_api := self._crd_schemas.get((group, version, kind))) is not None:
            return _crd_root_schema(open_api)
        if group in self._builtin.groups:
            raise _NoSchemaError(f"Kubernetes {self.kubernetes_version} has no kind {kind} in {api_version}")
        if served := self._crd_versions.get((group, kind)):
            raise _NoSchemaError(f"the {kind} CRD serves {', '.join(served)} of {group}, not {version}")
        raise _NoSchemaError(f"no schema for kind {kind} in group {group}; install its CRD or set PORTAL_CRD_DIR")


@functools.cache
def _validator_for_dir(crd_dir: str) -> SchemaValidator:
    return SchemaValidator.from_crd_dir(crd_dir) if crd_dir else SchemaValidator()
