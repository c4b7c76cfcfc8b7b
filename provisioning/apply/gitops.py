"""Writes to the gitops working tree: a file per object, one commit per run."""

from typing import Any

from ..gitrepo import Repo, object_path
from ..resources import Resource, to_yaml


class RepoWriter:
    def __init__(self, repo: Repo):
        self.repo = repo
        self.writes = 0
        self.touched: list[str] = []
        self._lock = None

    def begin(self) -> None:
        self._lock = self.repo.lock()
        self.repo.sync()

    def apply(self, resource: Resource, force: bool = False) -> dict[str, Any]:
        relative = object_path(resource)
        path = self.repo.path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if resource.sensitive:
            # Readable by the portal only, and never staged (the repository excludes secret files).
            path.touch(mode=0o600, exist_ok=True)
            path.chmod(0o600)
        path.write_text(to_yaml(resource.body))
        self.writes += 1
        if not resource.sensitive:
            self.touched.append(str(relative))
        return resource.body

    def delete(self, resource: Resource) -> None:
        relative = object_path(resource)
        path = self.repo.path / relative
        if path.exists():
            path.unlink()
            self.writes += 1
            if not resource.sensitive:
                self.touched.append(str(relative))
            if not any(path.parent.iterdir()):
                path.parent.rmdir()

    def finish(self, message: str) -> str:
        """Commit what this run wrote (one commit naming the run) and release the tree."""
        try:
            return self.repo.commit(self.touched, message)
        finally:
            self.touched = []
            if self._lock is not None:
                Repo.unlock(self._lock)
                self._lock = None
