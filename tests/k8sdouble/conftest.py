"""Fixtures of the double's tests.

Tests that take only ``dynamic_client`` and ``k8s_namespace`` (or these fixtures) also hold against a real cluster
(``PORTAL_TEST_KUBECONFIG``); tests that take ``k8s_double`` use its hooks and are skipped there. Tests of a module's
functions need neither.
"""

import pytest
from kubernetes.dynamic import DynamicClient


@pytest.fixture
def config_maps(dynamic_client: DynamicClient):
    return dynamic_client.resources.get(api_version="v1", kind="ConfigMap")


@pytest.fixture
def services(dynamic_client: DynamicClient):
    return dynamic_client.resources.get(api_version="v1", kind="Service")
