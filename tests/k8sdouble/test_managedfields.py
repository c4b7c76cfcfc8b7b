"""Field ownership: the fields a write sets, their FieldsV1 form, and who owns what after an update."""

from __future__ import annotations

from tests.k8sdouble.kinds import BUILTIN_TYPES
from tests.k8sdouble.managedfields import (
    MISSING,
    ManagedEntry,
    Shape,
    claim_update,
    field_set,
    fields_v1,
    format_field_path,
    value_at,
)

SERVICE = next(rtype for rtype in BUILTIN_TYPES if rtype.kind == "Service")


def test_a_write_sets_its_fields_without_server_metadata_or_status() -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "resourceVersion": "7", "labels": {"app": "web"}},
        "spec": {"ports": [{"port": 80, "name": "http"}], "selector": {}},
        "status": {"loadBalancer": {}},
    }
    port = 'k:{"port":80}'
    assert field_set(obj, Shape(SERVICE, "v1"), "main") == {
        ("f:metadata", "f:labels", "f:app"),
        ("f:spec", "f:ports", port),
        ("f:spec", "f:ports", port, "f:port"),
        ("f:spec", "f:ports", port, "f:name"),
        ("f:spec", "f:selector"),
    }
    assert field_set(obj, Shape(SERVICE, "v1"), "status") == {("f:status", "f:loadBalancer")}
    assert value_at(obj, ("f:spec", "f:ports", port, "f:name")) == "http"
    assert value_at(obj, ("f:spec", "f:ports", 'k:{"port":81}')) is MISSING


def test_fields_v1_marks_owned_nodes_that_have_children() -> None:
    port = 'k:{"port":80}'
    paths = {("f:spec", "f:ports", port), ("f:spec", "f:ports", port, "f:port"), ("f:spec", "f:type")}
    assert fields_v1(paths) == {"f:spec": {"f:ports": {port: {".": {}, "f:port": {}}}, "f:type": {}}}
    assert format_field_path(("f:spec", "f:ports", port, "f:targetPort")) == ".spec.ports[port=80].targetPort"


def test_an_update_takes_the_fields_it_changes_from_everyone() -> None:
    old = {"metadata": {"name": "web"}, "spec": {"type": "ClusterIP", "selector": {"app": "web"}}}
    new = {"metadata": {"name": "web"}, "spec": {"type": "NodePort", "selector": {"app": "web"}}}
    portal = ManagedEntry(
        "portal", "Apply", "v1", "", "t0", frozenset({("f:spec", "f:type"), ("f:spec", "f:selector")})
    )
    editor = ManagedEntry("kubectl-edit", "Update", "v1", "", "t1", frozenset())

    managed = claim_update((portal,), old, new, Shape(SERVICE, "v1"), "main", editor)

    assert [(entry.manager, entry.fields) for entry in managed] == [
        ("portal", frozenset({("f:spec", "f:selector")})),
        ("kubectl-edit", frozenset({("f:spec", "f:type")})),
    ]
    assert claim_update(managed, new, new, Shape(SERVICE, "v1"), "main", editor) == managed  # a no-op keeps all
