"""Pytest fixtures for the Kubernetes API double, or for a real cluster when ``PORTAL_TEST_KUBECONFIG`` is set.

One double serves the whole session; every test that asks for it (directly or through a client fixture) starts from
a fresh cluster. Load them with ``pytest_plugins = ["tests.k8sdouble.fixtures"]``.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError

from .server import KubernetesDouble

REAL_CLUSTER_ENV = "PORTAL_TEST_KUBECONFIG"
_DOUBLE_ONLY = f"needs the Kubernetes API double's test hooks; {REAL_CLUSTER_ENV} points the tests at a real cluster"


def real_cluster_kubeconfig() -> str | None:
    """The kubeconfig of the real cluster the tests should use instead of the double, if any."""
    return os.environ.get(REAL_CLUSTER_ENV) or None


def write_kubeconfig(url: str, path: Path, namespace: str = "default") -> Path:
    """A kubeconfig with one context for the API at ``url`` (no credentials: the double does not check any)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "k8s-double", "cluster": {"server": url}}],
        "users": [{"name": "k8s-double", "user": {}}],
        "contexts": [
            {"name": "k8s-double", "context": {"cluster": "k8s-double", "user": "k8s-double", "namespace": namespace}}
        ],
        "current-context": "k8s-double",
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def k8s_double_server() -> Iterator[KubernetesDouble]:
    """The session's double, serving on an ephemeral loopback port. State is shared: prefer ``k8s_double``."""
    if real_cluster_kubeconfig():
        pytest.skip(_DOUBLE_ONLY)
    double = KubernetesDouble().start()
    yield double
    double.stop()


@pytest.fixture
def k8s_double(k8s_double_server: KubernetesDouble) -> KubernetesDouble:
    """The double, reset to a fresh cluster with an empty request log and no faults."""
    k8s_double_server.reset()
    return k8s_double_server


@pytest.fixture(scope="session")
def k8s_session_kubeconfig(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A kubeconfig path for the whole session, e.g. for a worker process started once (state is not reset)."""
    if path := real_cluster_kubeconfig():
        return path
    double: KubernetesDouble = request.getfixturevalue("k8s_double_server")
    return str(write_kubeconfig(double.url, tmp_path_factory.mktemp("k8s-double") / "kubeconfig"))


@pytest.fixture
def k8s_kubeconfig(request: pytest.FixtureRequest, k8s_session_kubeconfig: str) -> str:
    """A kubeconfig path for code that loads one by path; with the double, the cluster starts fresh."""
    if not real_cluster_kubeconfig():
        request.getfixturevalue("k8s_double")
    return k8s_session_kubeconfig


@pytest.fixture
def k8s_api_client(request: pytest.FixtureRequest) -> Iterator[k8s_client.ApiClient]:
    """An ``ApiClient`` for the double (fresh cluster, no auth) or for the real cluster."""
    if path := real_cluster_kubeconfig():
        api_client = k8s_config.new_client_from_config(config_file=path)
    else:
        double: KubernetesDouble = request.getfixturevalue("k8s_double")
        configuration = k8s_client.Configuration()
        configuration.host = double.url
        configuration.proxy = None  # loopback: never through a proxy from the environment
        api_client = k8s_client.ApiClient(configuration)
    yield api_client
    api_client.close()


@pytest.fixture
def dynamic_client(k8s_api_client: k8s_client.ApiClient, tmp_path: Path) -> DynamicClient:
    """A ``DynamicClient`` with its own discovery cache, so no cache outlives the cluster it describes."""
    return DynamicClient(k8s_api_client, cache_file=str(tmp_path / "discovery-cache.json"))


@pytest.fixture
def k8s_namespace(dynamic_client: DynamicClient) -> Iterator[str]:
    """A new namespace for the test, deleted afterwards (on a real cluster, where state is not reset)."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    namespaces = dynamic_client.resources.get(api_version="v1", kind="Namespace")
    namespaces.create(body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    with contextlib.suppress(NotFoundError):
        namespaces.delete(name=name)
