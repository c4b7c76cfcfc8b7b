"""Label and field selectors, through list requests and as parsed predicates."""

from __future__ import annotations

import pytest
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import BadRequestError

from tests.k8sdouble.errors import ApiError
from tests.k8sdouble.helpers import config_map
from tests.k8sdouble.kinds import BUILTIN_TYPES
from tests.k8sdouble.selectors import field_selector, label_selector

SECRET = next(rtype for rtype in BUILTIN_TYPES if rtype.kind == "Secret")
CONFIG_MAP = next(rtype for rtype in BUILTIN_TYPES if rtype.kind == "ConfigMap")


def test_label_and_field_selectors(dynamic_client: DynamicClient, config_maps, k8s_namespace: str) -> None:
    for name, labels in {
        "web": {"team": "payments", "tier": "web"},
        "api": {"team": "payments", "tier": "api"},
        "job": {"team": "search", "tier": "batch"},
        "bare": {},
    }.items():
        config_maps.create(body=config_map(name, k8s_namespace, {}, labels=labels))

    def names(**selectors: str) -> list[str]:
        listing = config_maps.get(namespace=k8s_namespace, **selectors).to_dict()
        assert (listing["kind"], listing["apiVersion"]) == ("ConfigMapList", "v1")
        assert listing["metadata"]["resourceVersion"]
        assert all(item["kind"] == "ConfigMap" for item in listing["items"])
        return sorted(
            item["metadata"]["name"] for item in listing["items"] if item["metadata"]["name"] != "kube-root-ca.crt"
        )

    assert names(label_selector="team=payments") == ["api", "web"]
    assert names(label_selector="team!=payments") == ["bare", "job"]
    assert names(label_selector="tier in (web, batch)") == ["job", "web"]
    assert names(label_selector="tier notin (web)") == ["api", "bare", "job"]
    assert names(label_selector="team") == ["api", "job", "web"]
    assert names(label_selector="!team") == ["bare"]
    assert names(label_selector="team=payments,tier!=web") == ["api"]
    assert names(field_selector="metadata.name=job") == ["job"]

    everywhere = config_maps.get(label_selector="team=search").to_dict()["items"]
    assert [(item["metadata"]["namespace"], item["metadata"]["name"]) for item in everywhere] == [
        (k8s_namespace, "job")
    ]
    with pytest.raises(BadRequestError):
        config_maps.get(namespace=k8s_namespace, field_selector="data.x=1")


def test_set_based_label_requirements_split_at_commas_outside_parentheses() -> None:
    matches = label_selector("portal.io/service in (web, api),tier notin (batch),!legacy")
    assert matches({"portal.io/service": "api", "tier": "web"})
    assert not matches({"portal.io/service": "api", "tier": "batch"})
    assert not matches({"portal.io/service": "job"})
    assert not matches({"portal.io/service": "web", "legacy": ""})
    assert label_selector("tier==web")({"tier": "web"})


@pytest.mark.parametrize("text", ["tier in web", "=web", "tier ~ web"])
def test_a_label_selector_that_does_not_parse_is_a_bad_request(text: str) -> None:
    with pytest.raises(ApiError) as error:
        label_selector(text)
    assert error.value.code == 400


def test_field_selectors_know_the_fields_of_each_kind() -> None:
    secret = {"metadata": {"name": "tls", "namespace": "web"}, "type": "kubernetes.io/tls"}
    assert field_selector("type=kubernetes.io/tls,metadata.namespace=web", SECRET)(secret)
    assert not field_selector("metadata.name!=tls", SECRET)(secret)
    with pytest.raises(ApiError, match="field label not supported: type"):
        field_selector("type=Opaque", CONFIG_MAP)
