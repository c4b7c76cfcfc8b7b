"""The plan's diff: only declared fields compared, numbers by value, lists whole when their length changes,
deletes of what is no longer desired, secret values never shown."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioning.diff import (
    REDACTED,
    Change,
    FieldChange,
    declared_diff,
    diff_resource,
    plan_changes,
    summarize,
)
from provisioning.resources import AWS, Resource, k8s


def config_map(name: str, data: dict[str, Any], namespace: str = "payments") -> Resource:
    return k8s(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}, "data": data}
    )


def secret(name: str, data: dict[str, str]) -> Resource:
    return k8s(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "payments"}, "data": data}
    )


def paths(changes: list[FieldChange]) -> list[tuple[str, Any, Any]]:
    return [(change.path, change.old, change.new) for change in changes]


# --- declared_diff --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("desired", "observed"),
    [
        (1, 1.0),
        (30, 30),
        (0.5, 0.5),
        (True, True),
        (False, False),
        ("STRICT", "STRICT"),
        (None, None),
    ],
)
def test_equal_scalars_are_no_change(desired: Any, observed: Any) -> None:
    assert declared_diff({"v": desired}, {"v": observed}) == []


@pytest.mark.parametrize(
    ("desired", "observed"),
    [
        (1, 2),
        (1, 1.5),
        (True, 1),  # a bool is not the number it equals in Python
        (1, True),
        (False, 0),
        (0.0, False),
        (True, False),
        (1, "1"),
        ("a", None),
    ],
)
def test_different_scalars_are_a_change_from_observed_to_desired(desired: Any, observed: Any) -> None:
    assert paths(declared_diff({"v": desired}, {"v": observed})) == [("v", observed, desired)]


def test_only_declared_fields_are_compared() -> None:
    desired = {"spec": {"type": "ClusterIP", "ports": [{"port": 80}]}}
    observed = {
        "metadata": {"resourceVersion": "7", "uid": "u"},
        "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.1", "ports": [{"port": 80, "protocol": "TCP"}]},
        "status": {"loadBalancer": {}},
    }
    assert declared_diff(desired, observed) == []


def test_nested_changes_name_their_full_path() -> None:
    desired = {"spec": {"trafficPolicy": {"loadBalancer": {"simple": "LEAST_REQUEST"}}, "host": "web"}}
    observed = {"spec": {"trafficPolicy": {"loadBalancer": {"simple": "ROUND_ROBIN"}}, "host": "web"}}
    assert paths(declared_diff(desired, observed)) == [
        ("spec.trafficPolicy.loadBalancer.simple", "ROUND_ROBIN", "LEAST_REQUEST")
    ]


def test_missing_keys_and_maps_are_changes_from_none() -> None:
    desired = {
        "metadata": {"labels": {"team": "payments", "tier": "1"}},
        "spec": {"timeout": "5s", "retries": {"a": 3}},
    }
    observed = {"metadata": {"labels": {"team": "payments"}}, "spec": {}}
    assert paths(declared_diff(desired, observed)) == [
        ("metadata.labels.tier", None, "1"),
        ("spec.timeout", None, "5s"),
        ("spec.retries", None, {"a": 3}),
    ]


def test_a_map_where_something_else_is_observed_is_one_change() -> None:
    assert paths(declared_diff({"spec": {"a": 1}}, {"spec": "oops"})) == [("spec", "oops", {"a": 1})]
    assert paths(declared_diff({"spec": {"a": 1}}, {"spec": None})) == [("spec", None, {"a": 1})]


def test_lists_of_the_same_length_are_compared_item_by_item() -> None:
    desired = {"ports": [{"name": "http", "port": 80}, {"name": "grpc", "port": 9090}]}
    observed = {"ports": [{"name": "http", "port": 80, "protocol": "TCP"}, {"name": "grpc", "port": 9091}]}
    assert paths(declared_diff(desired, observed)) == [("ports[1].port", 9091, 9090)]
    assert paths(declared_diff({"hosts": ["a", "b"]}, {"hosts": ["a", "c"]})) == [("hosts[1]", "c", "b")]


@pytest.mark.parametrize("observed", [["a"], ["a", "b", "c"], [], "a,b", None])
def test_a_list_of_another_length_or_type_is_replaced_whole(observed: Any) -> None:
    assert paths(declared_diff({"hosts": ["a", "b"]}, {"hosts": observed})) == [("hosts", observed, ["a", "b"])]


def test_a_missing_list_is_a_change_from_none() -> None:
    assert paths(declared_diff({"spec": {"hosts": ["a"]}}, {"spec": {}})) == [("spec.hosts", None, ["a"])]


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=8,
)


@settings(max_examples=25, deadline=None)
@given(
    desired=st.dictionaries(st.text(max_size=3), JSON_VALUES, max_size=4),
    extra=st.dictionaries(st.text(min_size=4, max_size=6), JSON_VALUES, max_size=3),
)
def test_an_observed_document_with_more_fields_than_declared_is_no_change(desired: dict, extra: dict) -> None:
    assert declared_diff(desired, {**extra, **desired}) == []


# --- removals: what was last applied and is no longer declared -----------------------------------------------------


def test_a_field_last_applied_and_no_longer_declared_is_removed() -> None:
    applied = {"spec": {"http": [{"name": "default", "match": [{"uri": {"prefix": "/api"}}], "route": "r"}]}}
    desired = {"spec": {"http": [{"name": "default", "route": "r"}]}}
    observed = {"spec": {"http": [{"name": "default", "match": [{"uri": {"prefix": "/api"}}], "route": "r"}]}}
    assert declared_diff(desired, observed) == [], "without the last applied body nothing says it goes"
    assert paths(declared_diff(desired, observed, applied=applied)) == [
        ("spec.http[0].match", [{"uri": {"prefix": "/api"}}], None)
    ]


def test_a_removal_already_made_and_fields_nobody_declared_are_no_change() -> None:
    applied = {"spec": {"timeout": "5s", "hosts": ["a"]}}
    desired = {"spec": {"hosts": ["a"]}}
    assert declared_diff(desired, {"spec": {"hosts": ["a"]}}, applied=applied) == []
    # A field a server filled in (never in the applied body) stays out of the plan.
    assert declared_diff(desired, {"spec": {"hosts": ["a"], "status": "x"}}, applied=applied) == []


def test_a_removed_list_item_and_a_field_removed_inside_one_are_changes() -> None:
    applied = {"rules": [{"port": 80, "tls": True}, {"port": 443}]}
    assert paths(declared_diff({"rules": [{"port": 80}]}, applied, applied=applied)) == [
        ("rules", applied["rules"], [{"port": 80}])
    ]
    desired = {"rules": [{"port": 80}, {"port": 443}]}
    assert paths(declared_diff(desired, applied, applied=applied)) == [("rules[0].tls", True, None)]


def test_a_plan_updates_a_resource_whose_only_edit_removes_a_field() -> None:
    before = Resource(AWS, "logs.LogGroup", "/eks/x", body={"retention_days": 30, "kms_key": "k", "tags": {"a": "1"}})
    after = Resource(AWS, "logs.LogGroup", "/eks/x", body={"retention_days": 30, "tags": {"a": "1"}})
    (unchanged,) = plan_changes([after], {after.key: before.body}, [before])
    assert unchanged.action == "unchanged"
    (change,) = plan_changes([after], {after.key: before.body}, [before], {before.key: before.body})
    assert change.action == "update"
    assert change.as_dict()["diff"] == [{"path": "kms_key", "old": "k", "new": None}]


def test_a_removed_secret_value_is_redacted() -> None:
    applied = secret("webhook", {"url": "sha256:abc", "token": "sha256:def"})
    desired = Resource(
        applied.provider, "Secret", "webhook", "payments", "v1", {**applied.body, "data": {"url": "bmV3"}}, True
    )
    observed = {**applied.body, "data": {"url": "bmV3", "token": "c2VjcmV0"}}
    diff = diff_resource(desired, observed, applied.body).as_dict()["diff"]
    assert diff == [{"path": "data.token", "old": REDACTED, "new": None}]


# --- diff_resource, plan_changes, summarize -------------------------------------------------------------------------


def test_nothing_observed_is_a_create_shown_field_by_field() -> None:
    resource = config_map("settings", {"level": "info"})
    change = diff_resource(resource, None)
    assert (change.action, change.observed) == ("create", None)
    assert paths(list(change.diff)) == [
        ("apiVersion", None, "v1"),
        ("kind", None, "ConfigMap"),
        ("metadata.name", None, "settings"),
        ("metadata.namespace", None, "payments"),
        ("data.level", None, "info"),
    ]


def test_an_observed_resource_is_updated_or_unchanged() -> None:
    resource = config_map("settings", {"level": "info", "retries": 3})
    same = {**resource.body, "data": {"level": "info", "retries": 3.0}, "metadata": {"name": "settings", "uid": "u"}}
    same["metadata"]["namespace"] = "payments"
    unchanged = diff_resource(resource, same)
    assert (unchanged.action, unchanged.diff, unchanged.observed) == ("unchanged", (), same)

    drifted = {**same, "data": {"level": "debug", "retries": 3}}
    updated = diff_resource(resource, drifted)
    assert updated.action == "update"
    assert paths(list(updated.diff)) == [("data.level", "debug", "info")]


def test_a_plan_creates_updates_keeps_and_deletes() -> None:
    new = config_map("new", {"a": "1"})
    changed = config_map("changed", {"a": "2"})
    kept = config_map("kept", {"a": "3"})
    gone = config_map("gone", {"a": "4"})
    observed = {changed.key: {**changed.body, "data": {"a": "old"}}, kept.key: kept.body}

    changes = plan_changes([new, changed, kept], observed, [kept, changed, gone, gone])

    assert [(change.action, change.resource.name) for change in changes] == [
        ("create", "new"),
        ("update", "changed"),
        ("unchanged", "kept"),
        ("delete", "gone"),
    ]
    delete = changes[-1]
    assert (delete.diff, delete.observed) == ((), gone.body)
    assert summarize(changes) == {"create": 1, "update": 1, "delete": 1, "unchanged": 1}
    assert summarize([]) == {"create": 0, "update": 0, "delete": 0, "unchanged": 0}


def test_a_resource_both_desired_and_existing_is_never_deleted() -> None:
    desired = config_map("settings", {"a": "1"})
    existing = Resource(desired.provider, desired.kind, desired.name, desired.namespace, desired.api_version, {})
    changes = plan_changes([desired], {desired.key: desired.body}, [existing])
    assert [change.action for change in changes] == ["unchanged"]


# --- Change.as_dict -------------------------------------------------------------------------------------------------


def test_a_change_as_stored_in_a_plan() -> None:
    topic = Resource(AWS, "sns.Topic", "payments-alerts", body={"Name": "payments-alerts"})
    change = diff_resource(topic, {"Name": "payments-alerts-old"})
    assert change.as_dict() == {
        "action": "update",
        "provider": "aws",
        "api_version": "",
        "kind": "sns.Topic",
        "namespace": "",
        "name": "payments-alerts",
        "key": "aws||sns.Topic||payments-alerts",
        "digest": topic.digest,
        "diff": [{"path": "Name", "old": "payments-alerts-old", "new": "payments-alerts"}],
    }
    assert Change("delete", topic).as_dict()["digest"] == ""


def test_secret_values_are_redacted_and_other_fields_are_not() -> None:
    resource = secret("webhook", {"url": "aHR0cHM6Ly9uZXc="})
    observed = {**resource.body, "metadata": {"name": "webhook-old", "namespace": "payments"}, "data": {"url": "b2xk"}}
    diff = diff_resource(resource, observed).as_dict()["diff"]
    assert diff == [
        {"path": "metadata.name", "old": "webhook-old", "new": "webhook"},
        {"path": "data.url", "old": REDACTED, "new": REDACTED},
    ]

    created = diff_resource(resource, None).as_dict()["diff"]
    assert {"path": "data.url", "old": None, "new": REDACTED} in created
    assert "aHR0cHM6Ly9uZXc=" not in repr(created)


def test_sealed_resources_are_redacted_too() -> None:
    sealed = Resource(AWS, "custom", "x", body={"stringData": {"token": "sha256:abc"}}, sensitive=True)
    assert diff_resource(sealed, {"stringData": {}}).as_dict()["diff"] == [
        {"path": "stringData.token", "old": None, "new": REDACTED}
    ]
    plain = config_map("settings", {"token": "visible"})
    assert diff_resource(plain, None).as_dict()["diff"][-1] == {"path": "data.token", "old": None, "new": "visible"}
