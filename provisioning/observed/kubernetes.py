"""Read-only view of a cluster: the objects the portal owns, found by label."""

import json
from typing import Any

from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError

from ..kube import KindNotInstalled, find_resource
from ..resources import Resource, k8s


class ClusterReader:
    def __init__(self, dyn: DynamicClient):
        self.dyn = dyn
        self.reads = 0
        # Read ahead for a drift sweep: (apiVersion, kind) -> objects, and the label sets they cover.
        self._listed: dict[tuple[str, str], list[Resource]] = {}
        self._covered: set[tuple[tuple[str, str], ...]] = set()

    def prefetch(self, kinds: list[tuple[str, str]], label_sets: list[dict[str, str]]) -> None:
        """One list per kind, across namespaces, of everything carrying any of these label sets (which differ in
        one label only, e.g. many services'): later ``owned`` calls for them answer from it."""
        if not label_sets:
            return
        common = set.intersection(*(set(labels.items()) for labels in label_sets))
        varying = {key for labels in label_sets for key, value in labels.items() if (key, value) not in common}
        if len(varying) > 1 or any(set(labels) != set(label_sets[0]) for labels in label_sets):
            return  # not a family of scopes one selector can cover
        terms = [f"{k}={v}" for k, v in sorted(common)]
        for key in varying:
            terms.append(f"{key} in ({','.join(sorted({labels[key] for labels in label_sets}))})")
        selector = ",".join(terms)
        for api_version, kind in kinds:
            try:
                api = find_resource(self.dyn, api_version, kind)
            except KindNotInstalled:
                self._listed[(api_version, kind)] = []
                continue
            self.reads += 1
            # The raw answer: the client's ResourceInstance wrapping costs more than the request on big lists.
            listing = json.loads(api.get(label_selector=selector, serialize=False).data)
            self._listed[(api_version, kind)] = [self._resource(item, api_version, kind) for item in listing["items"]]
        self._covered |= {tuple(sorted(labels.items())) for labels in label_sets}

    @staticmethod
    def _resource(item: dict[str, Any], api_version: str, kind: str) -> Resource:
        item.setdefault("apiVersion", api_version)
        item.setdefault("kind", kind)
        return k8s(item)

    def owned(self, kinds: list[tuple[str, str]], namespaces: set[str], labels: dict[str, str]) -> dict[str, Resource]:
        """Every object of these kinds carrying the labels: one list per (kind, namespace)."""
        if tuple(sorted(labels.items())) in self._covered and all(kind in self._listed for kind in kinds):
            return self._owned_listed(kinds, namespaces, labels)
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
                    resource = self._resource(item, api_version, kind)
                    found[resource.key] = resource
        return found

    def _owned_listed(self, kinds, namespaces: set[str], labels: dict[str, str]) -> dict[str, Resource]:
        """``owned`` answered from the read-ahead: the same objects its per-namespace lists would return."""
        found: dict[str, Resource] = {}
        for kind in kinds:
            for resource in self._listed[kind]:
                object_labels = resource.body.get("metadata", {}).get("labels") or {}
                if resource.namespace and resource.namespace not in namespaces:
                    continue
                if all(object_labels.get(k) == v for k, v in labels.items()):
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
