"""Read-only view of a cluster: the objects the portal owns, found by label."""

from typing import Any

from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError

from ..kube import KindNotInstalled, find_resource
from ..resources import Resource, k8s


class ClusterReader:
    def __init__(self, dyn: DynamicClient):
        self.dyn = dyn
        self.reads = 0

    def owned(self, kinds: list[tuple[str, str]], namespaces: set[str], labels: dict[str, str]) -> dict[str, Resource]:
        """Every object of these kinds carrying the labels: one list per (kind, namespace)."""
        selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        found: dict[str, Resource] = {}
        for api_version, kind in kinds:
            try:
                api = find_resource(self.dyn, api_version, kind)
            except KindNotInstalled:
                continue  # nothing of a kind the cluster does not serve can exist
            scopes = sorted(namespaces) if api.namespaced else [None]
            for namespace in scopes:
                self.reads += 1
                listing = api.get(namespace=namespace, label_selector=selector)
                for item in listing.to_dict().get("items", []):
                    item.setdefault("apiVersion", api_version)
                    item.setdefault("kind", kind)
                    resource = k8s(item)
                    found[resource.key] = resource
        return found

    def get(self, resource: Resource) -> dict[str, Any] | None:
        try:
            api = find_resource(self.dyn, resource.api_version, resource.kind)
        except KindNotInstalled:
            return None
        self.reads += 1
        try:
            return api.get(name=resource.name, namespace=resource.namespace or None).to_dict()
        except NotFoundError:
            return None
