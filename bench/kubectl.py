"""B6: the Kubernetes objects of one external service applied to a fresh Kubernetes API double by the portal's
``kubernetes`` target and by ``kubectl apply --server-side --field-manager=portal``, side by side: a first apply, a
no-op re-apply and a change of one field. The double's request log counts what each side sent, by verb.

Both start with discovery done (the portal's client has discovered the kinds and read the CRDs it validates
against; kubectl's cache directory is warm), as a worker's or a user's would be. The portal's side is what its
target does in a run (observe by labels, diff, schema check of what it writes, server-side apply of what changed),
without the run's bookkeeping in PostgreSQL; kubectl's side is the command, process start included.
"""

import dataclasses
import shutil
import subprocess
import time
from pathlib import Path

import yaml

from tests.k8sdouble.client import DoubleClient
from tests.k8sdouble.requestlog import RequestRecord

from .internals import (
    KUBERNETES,
    SAMPLE_PLATFORM,
    SAMPLE_SERVICES,
    SERVICE_KINDS,
    ChangeAction,
    KubernetesBackend,
    Resource,
    cluster_backend,
    plan_changes,
    render_service,
    scope_labels,
    seal,
)
from .processes import Process, start_kubernetes_double, write_kubeconfig

STEPS = ("first", "noop", "change")
APPLY_PATCH = "application/apply-patch+yaml"
WRITES = (ChangeAction.CREATE, ChangeAction.UPDATE)


def verb(record: RequestRecord) -> str:
    """The request's verb as Kubernetes audit logs name it (discovery for paths naming no resource)."""
    if not record.kind:
        return "discovery"
    if record.method == "GET":
        return "get" if record.name else "list"
    if record.method == "PATCH":
        return "apply" if record.content_type == APPLY_PATCH else "patch"
    return {"POST": "create", "PUT": "update", "DELETE": "delete"}.get(record.method, record.method.lower())


def tally(records: list[RequestRecord]) -> dict:
    by_verb: dict[str, int] = {}
    for record in records:
        by_verb[verb(record)] = by_verb.get(verb(record), 0) + 1
    return {
        "requests": len(records),
        "writes": sum(record.is_write for record in records),
        "changed": sum(record.changed for record in records),
        "by_verb": dict(sorted(by_verb.items())),
    }


def objects(step: str) -> list[Resource]:
    """The service's Kubernetes objects at a step: the change step sets another route timeout (one field of one
    object)."""
    svc = SAMPLE_SERVICES["external"]
    if step == "change":
        traffic = dataclasses.replace(svc.traffic, timeout_seconds=(svc.traffic.timeout_seconds or 0) + 7)
        svc = dataclasses.replace(svc, traffic=traffic)
    return [r for r in render_service(svc, SAMPLE_PLATFORM) if r.provider == KUBERNETES]


class PortalSide:
    """The portal's ``kubernetes`` target, with the inventory a run would keep (what it applied last)."""

    def __init__(self, kubeconfig: Path):
        self.backend: KubernetesBackend = cluster_backend(str(kubeconfig))
        self.validator = self.backend.schema_validator()
        self.recorded: list[Resource] = []
        self.labels = scope_labels(SAMPLE_SERVICES["external"].name)

    def warm(self) -> None:
        """Discovery of every kind the service may own, as a worker that has served runs before has it."""
        self.backend.reader.owned(SERVICE_KINDS, set(), {"bench": "warm-up"})

    def apply(self, desired: list[Resource]) -> int:
        observed, existing = self.backend.observe(SERVICE_KINDS, self.labels, desired, self.recorded)
        writes = [c.resource for c in plan_changes(desired, observed, existing) if c.action in WRITES]
        violations = self.validator.validate_all(
            [r.body for r in writes if self.validator.has_schema(r.api_version, r.kind)]
        )
        if violations:
            raise RuntimeError(f"B6: the sample service does not validate: {violations[:3]}")
        for resource in writes:
            self.backend.apply(resource)
        self.recorded = [seal(r) for r in desired]  # as the inventory keeps them: secret values as digests
        return len(writes)


class KubectlSide:
    """``kubectl apply --server-side`` of a directory with one file per object, with its own discovery cache."""

    def __init__(self, kubeconfig: Path, work: Path):
        self.directory = work / "objects"
        self.base = ["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(work / "kubectl-cache")]

    def warm(self) -> None:
        self._run("api-resources")

    def apply(self, desired: list[Resource]) -> int:
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory.mkdir(parents=True)
        for index, resource in enumerate(desired):  # the portal's order: namespaces first
            path = self.directory / f"{index:02d}-{resource.kind.lower()}-{resource.name}.yaml"
            path.write_text(yaml.safe_dump(resource.body, sort_keys=False))
        self._run("apply", "--server-side", "--field-manager=portal", "--validate=false", "-f", str(self.directory))
        return len(desired)

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self.base, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"B6: kubectl {' '.join(args[:2])} failed: {done.stderr[-2000:]}")


def measure(side, double: DoubleClient) -> dict:
    double.reset()
    side.warm()
    steps = {}
    for step in STEPS:
        desired = objects(step)
        double.clear_requests()
        started = time.perf_counter()
        side.apply(desired)
        wall = time.perf_counter() - started
        steps[step] = {"wall_s": round(wall, 4), **tally(double.requests)}
    return steps


def run(env: dict[str, str], work: Path, logs: Path) -> dict:
    changed = [a.key for a, b in zip(objects("noop"), objects("change"), strict=True) if a.body != b.body]
    if len(changed) != 1:
        raise RuntimeError(f"B6: the change step must change one object, not {changed}")
    work = work / "b6"
    work.mkdir()
    process: Process
    process, url = start_kubernetes_double(env, logs, name="k8s-double-b6")
    try:
        kubeconfig = write_kubeconfig(url, work / "kubeconfig")
        double = DoubleClient(url)
        sides = {
            "portal": measure(PortalSide(kubeconfig), double),
            "kubectl": measure(KubectlSide(kubeconfig, work), double),
        }
    finally:
        process.stop()
    portal, kubectl = sides["portal"], sides["kubectl"]
    figures: dict = {"objects": len(objects("first")), "changed_object": changed[0], "steps": sides}
    for step in STEPS:
        figures[f"{step}_requests"] = portal[step]["requests"]
        figures[f"{step}_kubectl_requests"] = kubectl[step]["requests"]
        figures[f"{step}_requests_vs_kubectl"] = round(portal[step]["requests"] / kubectl[step]["requests"], 2)
        figures[f"{step}_wall_vs_kubectl"] = round(portal[step]["wall_s"] / kubectl[step]["wall_s"], 2)
    figures["noop_writes"] = portal["noop"]["writes"]
    figures["wall_vs_kubectl"] = max(figures[f"{step}_wall_vs_kubectl"] for step in STEPS)
    figures["note"] = (
        "the objects of tests/platform/samples.py's external service (payments-api), each side on a fresh double "
        "with discovery warm; portal = its kubernetes target in this process (observe by labels, diff, schema check, "
        "server-side apply of the changes); kubectl = `kubectl apply --server-side --field-manager=portal "
        "--validate=false -f DIR` (process start included); wall_vs_kubectl is the worst step"
    )
    return figures
