"""Read-only view of the gitops working tree."""

from pathlib import Path
from typing import Any

import yaml

from ..gitrepo import CLUSTER_DIR, Repo, object_path
from ..resources import Resource, k8s


class RepoReader:
    def __init__(self, repo: Repo):
        self.repo = repo
        self.reads = 0
        self._bodies: dict[Path, Any] | None = None

    def prefetch(self, kinds: list[tuple[str, str]], label_sets: list[dict[str, str]]) -> None:
        """For a drift sweep: keep each file once read (the shared cluster-scoped directory is read once)."""
        self._bodies = {}

    def _load(self, path: Path) -> Any:
        if self._bodies is not None and path in self._bodies:
            return self._bodies[path]
        self.reads += 1
        body = yaml.safe_load(path.read_text())
        if self._bodies is not None:
            self._bodies[path] = body
        return body

    def owned(self, kinds: list[tuple[str, str]], namespaces: set[str], labels: dict[str, str]) -> dict[str, Resource]:
        """Every object file of these kinds in these namespaces' directories whose labels match. Files are named by
        kind (``object_path``), so only files of a wanted kind are read: a new service's plan reads none of the
        cluster-scoped files other scopes keep."""
        wanted_kinds = set(kinds)
        prefixes = tuple(sorted({f"{kind.lower()}-" for _, kind in kinds}))
        found: dict[str, Resource] = {}
        for directory in sorted({*namespaces, CLUSTER_DIR}):
            folder = self.repo.path / directory
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob("*.yaml")):
                if not path.name.startswith(prefixes):
                    continue
                body = self._load(path)
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
