"""PATCH: merge, strategic merge and JSON patches, through the API and as functions."""

from __future__ import annotations

import pytest
from kubernetes.dynamic.exceptions import UnprocessibleEntityError

from tests.k8sdouble.errors import ApiError
from tests.k8sdouble.helpers import config_map
from tests.k8sdouble.patch import JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, merge_patch, patched


def test_patch_types(config_maps, k8s_namespace: str) -> None:
    config_maps.create(body=config_map("settings", k8s_namespace, {"a": "1", "b": "2"}))
    target = {"name": "settings", "namespace": k8s_namespace}

    merged = config_maps.patch(
        body={"data": {"a": None, "c": "3"}}, content_type="application/merge-patch+json", **target
    )
    assert merged.to_dict()["data"] == {"b": "2", "c": "3"}
    strategic = config_maps.patch(body={"data": {"d": "4"}}, **target)
    assert strategic.to_dict()["data"] == {"b": "2", "c": "3", "d": "4"}
    json_patched = config_maps.patch(
        body=[{"op": "replace", "path": "/data/b", "value": "two"}, {"op": "remove", "path": "/data/c"}],
        content_type="application/json-patch+json",
        **target,
    )
    assert json_patched.to_dict()["data"] == {"b": "two", "d": "4"}
    with pytest.raises(UnprocessibleEntityError):
        config_maps.patch(
            body=[{"op": "test", "path": "/data/b", "value": "2"}], content_type="application/json-patch+json", **target
        )


def test_merge_patch_follows_rfc_7386() -> None:
    target = {"a": "b", "c": {"d": "e", "f": "g"}, "list": [1, 2]}
    assert merge_patch(target, {"a": "z", "c": {"f": None}, "list": [3]}) == {"a": "z", "c": {"d": "e"}, "list": [3]}
    assert merge_patch(target, ["whole"]) == ["whole"]
    assert merge_patch("scalar", {"a": {"b": None}}) == {"a": {}}
    assert target == {"a": "b", "c": {"d": "e", "f": "g"}, "list": [1, 2]}  # never changed in place


def test_patches_the_server_cannot_apply_are_refused() -> None:
    current = {"data": {"a": "1"}}
    assert patched(current, {"data": {"b": "2"}}, STRATEGIC_MERGE_PATCH) == {"data": {"a": "1", "b": "2"}}
    refused = [
        ({"data": {"$patch": "replace"}}, STRATEGIC_MERGE_PATCH, 400),
        ([{"op": "add", "path": "/data/b", "value": "2"}], MERGE_PATCH, 400),
        ({"op": "add"}, JSON_PATCH, 400),
        ([{"op": "remove", "path": "/data/missing"}], JSON_PATCH, 422),
    ]
    for patch, content_type, code in refused:
        with pytest.raises(ApiError) as error:
            patched(current, patch, content_type)
        assert error.value.code == code, (patch, content_type)
