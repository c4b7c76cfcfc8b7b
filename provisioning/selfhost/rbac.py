"""Least-privilege RBAC of the ``kubernetes`` target, generated from the kinds the portal manages.

- ``portal-provisioner``: what the target itself does with every kind in ``SERVICE_KINDS`` and ``PLATFORM_KINDS``
  (server-side apply is a ``patch``, authorized as ``create`` too when it creates the object; ``list`` by
  ownership label; ``get`` of a recorded object that lost its labels; ``delete`` when pruning and destroying), the
  preflight's read of the cluster's CRDs, and API discovery.
- ``portal-delegated``: exactly the permissions the platform layer's Roles and ClusterRoles grant. Kubernetes lets
  a subject write a role, or a binding to it, only with every permission the role holds (short of the ``escalate``
  and ``bind`` verbs, which would let the portal grant anything). A namespaced Role's rules are held cluster-wide
  here: the namespace (the ingress gateways') may not exist before the portal's first bootstrap creates it, and
  the only grant this widens is ``watch`` on Secrets (``get`` and ``list`` the target needs anyway).
"""

import json
from collections import defaultdict
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from provisioning.desired import SERVICE_KINDS
from provisioning.desired.platform import PLATFORM_KINDS, render_platform
from provisioning.preflight import VENDORED_CRD_DIR
from provisioning.resources import to_yaml_documents
from provisioning.spec import PlatformSpec

from .exposure import PORTAL_SERVICE

RBAC_API = "rbac.authorization.k8s.io/v1"
PROVISIONER_ROLE = "portal-provisioner"
DELEGATED_ROLE = "portal-delegated"
OBJECT_VERBS = ("create", "delete", "get", "list", "patch")
# SchemaValidator.from_cluster: the preflight checks custom resources against the CRDs the cluster serves.
CRD_GROUP, CRD_RESOURCE, CRD_VERBS = "apiextensions.k8s.io", "customresourcedefinitions", ("list",)
# The client's discovery of the groups, versions and kinds the cluster serves.
DISCOVERY_URLS = ("/api/*", "/apis", "/apis/*", "/version")
# Resource names of the built-in kinds the portal manages; custom kinds take theirs from the vendored CRDs.
BUILTIN_RESOURCES: dict[tuple[str, str], str] = {
    ("", "Namespace"): "namespaces",
    ("", "ServiceAccount"): "serviceaccounts",
    ("", "Secret"): "secrets",
    ("", "ConfigMap"): "configmaps",
    ("", "Service"): "services",
    ("apps", "Deployment"): "deployments",
    ("networking.k8s.io", "Ingress"): "ingresses",
    ("networking.k8s.io", "IngressClass"): "ingressclasses",
    ("rbac.authorization.k8s.io", "Role"): "roles",
    ("rbac.authorization.k8s.io", "RoleBinding"): "rolebindings",
    ("rbac.authorization.k8s.io", "ClusterRole"): "clusterroles",
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): "clusterrolebindings",
}


@cache
def _crd_resources(crd_dir: Path = VENDORED_CRD_DIR) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for path in sorted(crd_dir.glob("*.json")):
        documents = json.loads(path.read_text())
        for crd in documents if isinstance(documents, list) else [documents]:
            spec = crd["spec"]
            found[(spec["group"], spec["names"]["kind"])] = spec["names"]["plural"]
    return found


def resource_of(api_version: str, kind: str) -> tuple[str, str]:
    """(API group, resource) of a kind the portal writes, e.g. ``("networking.istio.io", "virtualservices")``."""
    group = api_version.rpartition("/")[0]
    resource = BUILTIN_RESOURCES.get((group, kind)) or _crd_resources().get((group, kind))
    if resource is None:
        raise ValueError(f"kind {kind} ({api_version}): no resource name known; add it to BUILTIN_RESOURCES")
    return group, resource


def managed_resources() -> list[tuple[str, str]]:
    """Every (group, resource) the target writes, from the service and platform kind lists."""
    return sorted({resource_of(api_version, kind) for api_version, kind in (*SERVICE_KINDS, *PLATFORM_KINDS)})


def _rules(grants: Iterable[tuple[str, str, str]], urls: Iterable[tuple[str, str]] = ()) -> list[dict[str, Any]]:
    """(group, resource, verb) and (non-resource URL, verb) grants as few rules: one per group and verb set."""
    verbs: dict[tuple[str, str], set[str]] = defaultdict(set)
    for group, resource, verb in grants:
        verbs[(group, resource)].add(verb)
    by_verbs: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
    for (group, resource), granted in sorted(verbs.items()):
        by_verbs[(group, tuple(sorted(granted)))].append(resource)
    rules: list[dict[str, Any]] = [
        {"apiGroups": [group], "resources": resources, "verbs": list(granted)}
        for (group, granted), resources in sorted(by_verbs.items())
    ]
    url_verbs: dict[tuple[str, ...], list[str]] = defaultdict(list)
    url_grants: dict[str, set[str]] = defaultdict(set)
    for url, verb in urls:
        url_grants[url].add(verb)
    for url, granted in sorted(url_grants.items()):
        url_verbs[tuple(sorted(granted))].append(url)
    rules += [{"nonResourceURLs": found, "verbs": list(granted)} for granted, found in sorted(url_verbs.items())]
    return rules


def provisioner_rules() -> list[dict[str, Any]]:
    """What the ``kubernetes`` target does: every managed kind, the CRD read, discovery."""
    grants = [(group, resource, verb) for group, resource in managed_resources() for verb in OBJECT_VERBS]
    grants += [(CRD_GROUP, CRD_RESOURCE, verb) for verb in CRD_VERBS]
    return _rules(grants, [(url, "get") for url in DISCOVERY_URLS])


def granted_by(roles: Iterable[dict[str, Any]]) -> tuple[set[tuple[str, str, str]], set[tuple[str, str]]]:
    """Every (group, resource, verb) and (non-resource URL, verb) the rules of these Role/ClusterRole bodies grant."""
    grants: set[tuple[str, str, str]] = set()
    urls: set[tuple[str, str]] = set()
    for role in roles:
        for rule in role.get("rules") or []:
            for verb in rule["verbs"]:
                urls |= {(url, verb) for url in rule.get("nonResourceURLs") or []}
                grants |= {
                    (group, resource, verb)
                    for group in rule.get("apiGroups") or []
                    for resource in rule.get("resources") or []
                }
    return grants, urls


def delegated_rules(platform: PlatformSpec) -> list[dict[str, Any]]:
    """The union of what the platform layer's Roles and ClusterRoles grant."""
    roles = [r.body for r in render_platform(platform) if r.kind in ("Role", "ClusterRole")]
    grants, urls = granted_by(roles)
    return _rules(grants, urls)


def _labels() -> dict[str, str]:
    return {"app.kubernetes.io/name": PORTAL_SERVICE, "app.kubernetes.io/part-of": "platform"}


def cluster_rbac(platform: PlatformSpec, namespace: str = PORTAL_SERVICE) -> list[dict[str, Any]]:
    """The two ClusterRoles and their bindings to the portal's ServiceAccount."""
    subject = {"kind": "ServiceAccount", "name": PORTAL_SERVICE, "namespace": namespace}
    objects: list[dict[str, Any]] = []
    for name, rules in ((PROVISIONER_ROLE, provisioner_rules()), (DELEGATED_ROLE, delegated_rules(platform))):
        meta = {"name": name, "labels": _labels()}
        objects.append({"apiVersion": RBAC_API, "kind": "ClusterRole", "metadata": meta, "rules": rules})
        objects.append(
            {
                "apiVersion": RBAC_API,
                "kind": "ClusterRoleBinding",
                "metadata": dict(meta),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
                "subjects": [subject],
            }
        )
    return objects


def rbac_yaml(platform: PlatformSpec) -> str:
    header = (
        "# Generated by `python manage.py render_rbac`: do not edit. The `kubernetes` target's least privilege,\n"
        "# from the kinds in provisioning/desired (SERVICE_KINDS, PLATFORM_KINDS); tests/deploy checks it against\n"
        "# every request the engine makes.\n"
    )
    return header + to_yaml_documents(cluster_rbac(platform))
