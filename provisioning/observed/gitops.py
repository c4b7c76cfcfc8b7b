"""Read-only view of the gitops working tree."""

from typing import Any

import yaml

from ..gitrepo import CLUSTER_DIR, Repo, object_path
from ..resources import Resource, k8s


class RepoReader:
    def __init__(self, repo: Repo):
        self.repo = repo
        self.reads = 0

    def owned(self, kinds: list[tuple[str, str]], namespaces: set[str], labels: dict[str, str]) -> dict[str, Resource]:
        """Every object file in these namespaces' directories whose labels match."""
        wanted_kinds = set(kinds)
        found: dict[str, Resource] = {}
        for directory in sorted({*namespaces, CLUSTER_DIR}):
            folder = self.repo.path / directory
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob("*.yaml")):
                self.reads += 1
                body = yaml.safe_load(path.read_text())
                if not isinstance(body, dict) or (body.get("apiVersion"), body.get("kind")) not in wanted_kinds:
                    continue
                object_labels = (body.get("metadata") or {}).get("labels") or {}
                if all(object_labels.get(k) == v for k, v in labels.items()):
                    resource = k8s(body)
                    found[resource.key] = resource
        return found

    def get(self, resource: Resource) -> dict[str, Any] | None:
        path = self.repo.path / object_path(resource)
        self.reads += 1
        return yaml.safe_load(path.read_text()) if path.exists() else None
