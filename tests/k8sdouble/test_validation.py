"""What the server refuses in an object: undecodable values and invalid names and labels."""

from __future__ import annotations

import pytest

from tests.k8sdouble.errors import ApiError
from tests.k8sdouble.kinds import BUILTIN_TYPES, CRD_TYPE
from tests.k8sdouble.validation import decode_problem, validate

KINDS = {rtype.kind: rtype for rtype in BUILTIN_TYPES}


def test_each_invalid_label_is_a_cause_naming_its_field() -> None:
    obj = {"metadata": {"name": "web", "labels": {"-bad": "ok", "team": "has space", "portal.io/team": "payments"}}}
    with pytest.raises(ApiError) as error:
        validate(KINDS["ConfigMap"], obj)
    assert error.value.code == 422
    assert [cause["field"] for cause in error.value.details["causes"]] == ["metadata.labels", "metadata.labels.team"]


def test_names_follow_the_rule_of_their_kind() -> None:
    validate(KINDS["ClusterRole"], {"metadata": {"name": "system:controller"}})
    with pytest.raises(ApiError):
        validate(KINDS["Namespace"], {"metadata": {"name": "a.b"}})
    crd = {
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "names": {"plural": "gadgets"}},
    }
    with pytest.raises(ApiError, match=r"must be gadgets\.example\.com"):
        validate(CRD_TYPE, crd)


def test_values_a_real_server_cannot_decode() -> None:
    assert decode_problem(KINDS["Secret"], {"metadata": {}, "data": {"a": "not base64!"}}) == (
        "Secret data values must be base64"
    )
    assert decode_problem(KINDS["ConfigMap"], {"metadata": {"labels": {"a": 1}}}) == (
        "metadata.labels must be a map of strings"
    )
    assert decode_problem(KINDS["ConfigMap"], {"metadata": {}, "data": {"a": "1"}, "binaryData": {"b": "AA=="}}) is None
