"""Backends the engine drives, one per provider: Kubernetes objects go to a gitops working tree
(the local default) or to a cluster; AWS resources (provisioning.aws) go to AWS."""

from dataclasses import replace
from typing import Any, Protocol

from django.conf import settings

from .apply.gitops import RepoWriter
from .apply.kubernetes import ClusterWriter
from .gitrepo import Repo
from .kube import api_client, dynamic_client
from .observed.gitops import RepoReader
from .observed.kubernetes import ClusterReader
from .preflight import SchemaValidator
from .resources import KUBERNETES, Resource


class Backend(Protocol):
    provider: str

    def observe(
        self,
        kinds: list[tuple[str, str]],
        scope_labels: dict[str, str],
        desired: list[Resource],
        recorded: list[Resource],
    ) -> tuple[dict[str, dict[str, Any] | None], list[Resource]]:
        """Observed bodies of the desired resources (None when absent) and everything owned in the scope."""

    def prefetch(self, scopes: list[tuple[list[tuple[str, str]], dict[str, str], list[Resource]]]) -> None:
        """Optional. Read ahead once for many scopes' read-only checks, given each one's (kinds, labels,
        recorded resources); later observes of those scopes may answer from these reads."""

    def begin(self) -> None: ...

    def apply(self, resource: Resource, force: bool = False) -> dict[str, Any]: ...

    def delete(self, resource: Resource) -> None: ...

    def finish(self, message: str) -> str: ...


class KubernetesBackend:
    """Objects found by ownership labels, one list per (kind, namespace); writes by the target's writer."""

    provider = KUBERNETES

    def __init__(self, name: str, reader: RepoReader | ClusterReader, writer: RepoWriter | ClusterWriter):
        self.name = name
        self.reader = reader
        self.writer = writer
        self._validator: SchemaValidator | None = None

    def schema_validator(self) -> SchemaValidator:
        """A cluster's installed CRDs when talking to one; else PORTAL_CRD_DIR (or built-in kinds only)."""
        if self._validator is None:
            if isinstance(self.reader, ClusterReader):
                self._validator = SchemaValidator.from_cluster(self.reader.dyn.client)
            else:
                self._validator = SchemaValidator.from_settings()
        return self._validator

    @property
    def reads(self) -> int:
        return self.reader.reads

    @property
    def writes(self) -> int:
        return self.writer.writes

    def observe(self, kinds, scope_labels, desired, recorded):
        namespaces = {r.namespace for r in (*desired, *recorded) if r.namespace}
        namespaces |= {r.name for r in (*desired, *recorded) if r.kind == "Namespace"}
        owned = self.reader.owned(kinds, namespaces, scope_labels)
        # Recorded objects that lost their labels are still ours: look them up one by one.
        for record in recorded:
            if record.key not in owned:
                body = self.reader.get(record)
                if body is not None:
                    owned[record.key] = replace(record, body=body)
        observed = {r.key: (owned[r.key].body if r.key in owned else None) for r in desired}
        return observed, list(owned.values())

    def prefetch(self, scopes: list[tuple[list[tuple[str, str]], dict[str, str], list[Resource]]]) -> None:
        """Read ahead for many scopes' read-only checks (a drift sweep's batch): one list per kind for all of
        them, when one selector covers them; later observes of those scopes answer from it."""
        kinds = sorted({kind for scope_kinds, _, _ in scopes for kind in scope_kinds})
        self.reader.prefetch(kinds, [labels for _, labels, _ in scopes])

    def begin(self) -> None:
        begin = getattr(self.writer, "begin", None)
        if begin is not None:
            begin()

    def apply(self, resource: Resource, force: bool = False) -> dict[str, Any]:
        return self.writer.apply(resource, force=force)

    def delete(self, resource: Resource) -> None:
        self.writer.delete(resource)

    def finish(self, message: str) -> str:
        return self.writer.finish(message)


def kubernetes_backend(target: str) -> KubernetesBackend:
    """The target chosen in platform settings: 'gitops' or 'kubernetes'."""
    if target == "kubernetes":
        dyn = dynamic_client(api_client())
        return KubernetesBackend("kubernetes", ClusterReader(dyn), ClusterWriter(dyn))
    repo = Repo(settings.PORTAL_GITOPS_DIR, settings.PORTAL_GITOPS_REMOTE)
    repo.ensure()
    return KubernetesBackend("gitops", RepoReader(repo), RepoWriter(repo))
