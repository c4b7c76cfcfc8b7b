"""The kinds the double serves: where each lives in the API and how the server treats its objects."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CRD_GROUP = "apiextensions.k8s.io"
_RBAC_GROUP = "rbac.authorization.k8s.io"


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
        """``apiVersion`` of the kind's objects at ``version``: ``v1``, ``apps/v1``."""
        return f"{self.group}/{version}" if self.group else version

    @property
    def qualified(self) -> str:
        """How the server names the resource in messages: ``services``, ``destinationrules.networking.istio.io``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def details(self, name: str, **extra: Any) -> dict[str, Any]:
        """The ``details`` of a ``Status`` about the object ``name`` of this kind."""
        return {"name": name, "group": self.group, "kind": self.plural, **extra}


def _builtin(group: str, plural: str, kind: str, namespaced: bool, **extra: Any) -> ResourceType:
    return ResourceType(group, ("v1",), plural, kind, namespaced, kind.lower(), f"{kind}List", **extra)


NAMESPACE_TYPE = _builtin("", "namespaces", "Namespace", False, short_names=("ns",), has_status=True, name_rule="label")
CRD_TYPE = _builtin(
    CRD_GROUP,
    "customresourcedefinitions",
    "CustomResourceDefinition",
    False,
    short_names=("crd", "crds"),
    has_status=True,
)
BUILTIN_TYPES: tuple[ResourceType, ...] = (
    NAMESPACE_TYPE,
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
    CRD_TYPE,
)

_KUBE_VERSION = re.compile(r"v(\d+)(?:(alpha|beta)(\d+))?")


def version_priority(version: str) -> tuple[int, int, int]:
    """Kubernetes' version order: GA before beta before alpha, higher numbers first (sort descending)."""
    match = _KUBE_VERSION.fullmatch(version)
    if not match:
        return (0, 0, 0)
    stage = {None: 3, "beta": 2, "alpha": 1}[match[2]]
    return (stage, int(match[1]), int(match[3] or 0))
