"""Discovery: the version, the API groups and the resource lists the client reads before it addresses a kind."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .errors import path_not_found
from .kinds import ResourceType, version_priority

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
HEALTH_PATHS = ("healthz", "livez", "readyz")

_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update"]
_STATUS_VERBS = ["get", "patch", "update"]


def is_discovery_path(segments: list[str]) -> bool:
    """Discovery, version and health paths: everything but the resources themselves."""
    if not segments or segments[0] in ("version", *HEALTH_PATHS):
        return True
    return (segments[0] == "api" and len(segments) <= 2) or (segments[0] == "apis" and len(segments) <= 3)


def discovery_document(segments: list[str], types: Iterable[ResourceType], host: str) -> dict[str, Any]:
    """The answer at a discovery path (given as its segments) for the kinds served; ``NotFound`` for others."""
    types = list(types)
    if not segments:
        return {"paths": ["/api", "/api/v1", "/apis", "/version"]}
    if segments == ["version"]:
        return KUBERNETES_VERSION
    if segments == ["api"]:
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}],
        }
    if segments == ["apis"]:
        groups = sorted({rtype.group for rtype in types if rtype.group})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(types, g) for g in groups]}
    if segments[0] == "apis" and len(segments) == 2:
        if not any(rtype.group == segments[1] for rtype in types):
            raise path_not_found()
        return {"kind": "APIGroup", "apiVersion": "v1", **_group(types, segments[1])}
    group = "" if segments[0] == "api" else segments[1]
    return _resource_list(types, group, segments[-1])


def _group(types: list[ResourceType], group: str) -> dict[str, Any]:
    versions = {version for rtype in types if rtype.group == group for version in rtype.versions}
    entries = [
        {"groupVersion": f"{group}/{version}", "version": version}
        for version in sorted(versions, key=version_priority, reverse=True)
    ]
    return {"name": group, "versions": entries, "preferredVersion": entries[0]}


def _resource_list(types: list[ResourceType], group: str, version: str) -> dict[str, Any]:
    rtypes = sorted(
        (rtype for rtype in types if rtype.group == group and version in rtype.versions),
        key=lambda rtype: rtype.plural,
    )
    if not rtypes:
        raise path_not_found()
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
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}
