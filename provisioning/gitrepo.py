"""The gitops working tree: one directory per namespace, one file per object."""

import fcntl
import subprocess
from pathlib import Path

from .resources import Resource

CLUSTER_DIR = "_cluster"
# Secrets never go into git history: their files stay in the working tree only (mode 0600), for a secret
# delivery of the platform's choosing (the kubernetes target applies them directly).
NEVER_COMMITTED = "secret-*.yaml"
AUTHOR = ("Platform portal", "portal@localhost")


def object_path(resource: Resource) -> Path:
    """Where an object lives in the repository (a Namespace sits in its own directory)."""
    if resource.namespace:
        directory = resource.namespace
    elif resource.kind == "Namespace":
        directory = resource.name
    else:
        directory = CLUSTER_DIR
    return Path(directory) / f"{resource.kind.lower()}-{resource.name}.yaml"


class GitError(Exception):
    pass


class Repo:
    """A git working tree driven through the real git command."""

    def __init__(self, path: Path, remote: str = ""):
        self.path = Path(path)
        self.remote = remote

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["git", "-c", f"user.name={AUTHOR[0]}", "-c", f"user.email={AUTHOR[1]}", *args],
            cwd=self.path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def git(self, *args: str) -> str:
        result = self.run(*args)
        if result.returncode != 0:
            raise GitError(f"git {' '.join(args)} failed: {result.stderr.strip() or result.stdout.strip()}")
        return result.stdout

    def ensure(self) -> None:
        """Clone the remote or initialise an empty repository on first use; keep secrets out of git."""
        if not (self.path / ".git").exists():
            self._create()
        exclude = self.path / ".git" / "info" / "exclude"
        exclude.parent.mkdir(parents=True, exist_ok=True)
        lines = exclude.read_text().splitlines() if exclude.exists() else []
        if NEVER_COMMITTED not in lines:
            exclude.write_text("\n".join([*lines, NEVER_COMMITTED]) + "\n")

    def _create(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        if self.remote and not any(self.path.iterdir()):
            subprocess.run(["git", "clone", self.remote, str(self.path)], check=True, capture_output=True, timeout=300)
            return
        self.git("init", "--quiet", "--initial-branch", "main")
        (self.path / "README.md").write_text(
            "Rendered by the platform portal: one directory per namespace, one file per object.\n"
            "Edits here are overwritten; change the service in the portal instead.\n"
            "Secrets are never committed: their files stay in the working tree only.\n"
        )
        self.git("add", "README.md")
        self.git("commit", "--quiet", "-m", "Initialise the gitops repository")

    def lock(self):
        """An exclusive lock on the working tree for one run's writes and commit."""
        self.ensure()
        handle = open(self.path / ".git" / "portal.lock", "w")  # noqa: SIM115 - released by unlock()
        fcntl.flock(handle, fcntl.LOCK_EX)
        return handle

    @staticmethod
    def unlock(handle) -> None:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()

    def sync(self) -> None:
        """Start from the remote's latest commit, so a push fast-forwards."""
        if self.remote:
            self.git("fetch", "--quiet", "origin")
            self.git("reset", "--quiet", "--hard", "origin/main")

    def commit(self, paths: list[str], message: str) -> str:
        """Commit the given paths (added, changed or removed); return the commit id or '' if nothing changed."""
        if not paths:
            return ""
        self.git("add", "--all", "--", *paths)
        if not self.git("diff", "--cached", "--name-only").strip():
            return ""
        self.git("commit", "--quiet", "-m", message)
        if self.remote:
            self._push()
        return self.git("rev-parse", "HEAD").strip()

    def _push(self, attempts: int = 3) -> None:
        for _ in range(attempts):
            if self.run("push", "--quiet", "origin", "HEAD:main").returncode == 0:
                return
            # Someone else pushed first: replay this commit on top of theirs and try again.
            self.git("pull", "--quiet", "--rebase", "origin", "main")
        raise GitError("git push kept being rejected; another writer is pushing to the gitops remote")
