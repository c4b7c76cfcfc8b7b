"""Backends the engine drives, one per provider, each a reader (``observed/``) and a writer (``apply/``):
Kubernetes objects go to a gitops working tree (the local default) or to a cluster; AWS resources go to AWS."""

from dataclasses import replace
from typing import Any, Protocol

from django.conf import settings

from .apply.aws import AwsWriter
from .apply.gitops import RepoWriter
from .apply.kubernetes import ClusterWriter
from .aws.clients import CallCounter, counting
from .aws.context import AwsContext
from .aws.errors import aws_errors
from .aws.kinds import ALARM, LOG_GROUP, METRIC_FILTER
from .gitrepo import Repo
from .kube import api_client, dynamic_client
from .names import LABEL_SERVICE
from .observed.aws import AwsReader
from .observed.gitops import RepoReader
from .observed.kubernetes import ClusterReader
from .preflight import SchemaValidator
from .resources import AWS, KUBERNETES, Resource, body_digest, seal
from .spec import PlatformSpec


class Backend(Protocol):
    provider: str

    def observe(
        self,
        kinds: list[tuple[str, str]],
        scope_labels: dict[str, str],
        desired: list[Resource],
        recorded: list[Resource],
        *,
        every_kind: bool = False,
    ) -> tuple[dict[str, dict[str, Any] | None], list[Resource]]:
        """Observed bodies of the desired resources (None when absent) and everything owned in the scope.
        ``every_kind``: look for owned resources of every kind, also those nothing recorded (the drift check)."""

    def prefetch(self, scopes: list[tuple[list[tuple[str, str]], dict[str, str], list[Resource]]]) -> None:
        """Optional. Read ahead once for many scopes' read-only checks, given each one's (kinds, labels,
        recorded resources); later observes of those scopes may answer from these reads."""

    def begin(self) -> None: ...

    def apply(self, resource: Resource, force: bool = False) -> dict[str, Any]: ...

    def outputs(self, resource: Resource) -> dict[str, str]:
        """What the provider assigned to an existing resource that others are built from (ids, ARNs, DNS names)."""

    def delete(self, resource: Resource) -> None: ...

    def finish(self, message: str) -> str: ...


def same_body(declared: dict[str, Any], applied: dict[str, Any]) -> bool:
    """Whether an object is declared as it was last applied (the inventory's body comes back from JSON)."""
    return declared == applied or body_digest(declared) == body_digest(applied)


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

    def observe(self, kinds, scope_labels, desired, recorded, *, every_kind=False):
        """Objects by the scope's labels, one list per (kind, namespace) of the kinds there is something to compare.

        A plan lists the kinds of the objects recorded (last applied) that are still declared as they were applied,
        whose drift since would be a change, and of those recorded and no longer declared, which are pruned. An
        object declared otherwise than last applied, or never applied, is written by server-side apply whatever the
        cluster holds: its change is shown against what was last applied (nothing, for a new one), and a new
        service's first apply lists nothing. An object carrying the scope's labels that no apply recorded (a write
        whose record was lost) is the drift check's to find: it lists ``every_kind``, and records what it finds
        (``Engine.record_drift``), so that the next apply prunes it. A plan of a scope applied before that has
        nothing recorded (its inventory lost track of it) lists ``every_kind`` too, and adopts what it finds.
        """
        declared = {r.key: seal(r).body for r in desired}
        if every_kind:
            compared = list(recorded)
        else:
            compared = [r for r in recorded if r.key not in declared or same_body(declared[r.key], r.body)]
            wanted = {(r.api_version, r.kind) for r in compared}
            kinds = [kind for kind in kinds if kind in wanted]
        namespaces = {r.namespace for r in (*desired, *recorded) if r.namespace}
        namespaces |= {r.name for r in (*desired, *recorded) if r.kind == "Namespace"}
        owned = self.reader.owned(kinds, namespaces, scope_labels) if kinds else {}
        # Recorded objects that lost their labels are still ours: look them up one by one.
        for record in compared:
            if record.key not in owned:
                body = self.reader.get(record)
                if body is not None:
                    owned[record.key] = replace(record, body=body)
        listed = set(kinds)
        applied = {r.key: r.body for r in recorded}
        observed = {
            r.key: owned[r.key].body
            if r.key in owned
            else (None if (r.api_version, r.kind) in listed else applied.get(r.key))
            for r in desired
        }
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

    def outputs(self, resource: Resource) -> dict[str, str]:
        """Nothing: Kubernetes objects are referred to by name."""
        return {}

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


class AwsBackend:
    """Resources found by name, by a service's ``portal:*`` tags and by the inventory; boto3 calls counted."""

    provider = AWS

    def __init__(self, platform: PlatformSpec, *, sandbox: bool | None = None, wait_seconds: float | None = None):
        self.ctx = AwsContext(platform, sandbox=sandbox, wait_seconds=wait_seconds)
        self.reader = AwsReader(self.ctx)
        self.writer = AwsWriter(self.ctx)
        self.calls = CallCounter()

    @property
    def reads(self) -> int:
        return self.calls.reads

    @property
    def writes(self) -> int:
        return self.calls.writes

    def observe(self, kinds, scope_labels, desired, recorded, *, every_kind=False):
        """``kinds`` and ``every_kind`` concern Kubernetes objects and do not apply here: every kind the scope can
        hold is read (by name, tags and the inventory). Team-scoped resources (a team's topic) come
        from ``desired`` or, when the run prunes the team's scope, from ``recorded``."""
        self.ctx.service = scope_labels.get(LABEL_SERVICE, "")
        with counting(self.calls), aws_errors(f"observing {self.ctx.service or 'the platform'}"):
            return self.reader.observe(desired, recorded)

    def prefetch(self, scopes: list[tuple[list[tuple[str, str]], dict[str, str], list[Resource]]]) -> None:
        """Read ahead for many services' read-only checks (a drift sweep's batch), given each one's (Kubernetes
        kinds, labels, recorded resources): their tagged resources, log groups and alarms are listed once for all
        of them. Later observes answer from it, and share what services have in common (team topics, zones,
        listener certificates)."""
        services = [labels[LABEL_SERVICE] for _, labels, _ in scopes if labels.get(LABEL_SERVICE)]
        recorded = [r for _, _, resources in scopes for r in resources]
        with counting(self.calls), aws_errors("reading ahead for the drift sweep"):
            self.reader.prefetch(
                services,
                log_groups={r.name for r in recorded if r.kind == LOG_GROUP},
                alarms={r.name for r in recorded if r.kind == ALARM},
                filter_groups={r.namespace for r in recorded if r.kind == METRIC_FILTER},
            )

    def outputs(self, resource: Resource) -> dict[str, str]:
        with counting(self.calls), aws_errors(resource.label()):
            return self.reader.outputs_of(resource)

    def observed_outputs(self) -> dict[str, dict[str, str]]:
        """Resource key -> outputs, of what the observes so far found (no new reads)."""
        return dict(self.reader.outputs)

    def begin(self) -> None:
        """Nothing to prepare: every call takes effect on its own."""

    def apply(self, resource: Resource, force: bool = False) -> dict[str, Any]:
        with counting(self.calls), aws_errors(resource.label()):
            return self.writer.apply(resource)

    def delete(self, resource: Resource) -> None:
        with counting(self.calls), aws_errors(resource.label()):
            self.writer.delete(resource)

    def finish(self, message: str) -> str:
        return ""
