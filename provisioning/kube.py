"""Connections to a Kubernetes API: the official client's DynamicClient, with discovery."""

import os
import tempfile
from functools import cache

from django.conf import settings
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ResourceNotFoundError


def api_client(kubeconfig: str | None = None, context: str | None = None) -> k8s_client.ApiClient:
    """From a kubeconfig file (PORTAL_KUBECONFIG), else the in-cluster service account."""
    kubeconfig = kubeconfig if kubeconfig is not None else settings.PORTAL_KUBECONFIG
    configuration = k8s_client.Configuration()
    if kubeconfig:
        k8s_config.load_kube_config(
            config_file=kubeconfig,
            context=context or settings.PORTAL_KUBE_CONTEXT or None,
            client_configuration=configuration,
        )
    else:
        k8s_config.load_incluster_config(client_configuration=configuration)
    configuration.retries = 0  # retries are the task's business (backoff on temporary errors)
    return k8s_client.ApiClient(configuration)


def dynamic_client(client: k8s_client.ApiClient) -> DynamicClient:
    # The discovery cache is per process: a cache shared through /tmp can outlive a cluster's CRDs.
    cache_file = os.path.join(_cache_dir(), f"discovery-{os.getpid()}-{id(client)}.json")
    return DynamicClient(client, cache_file=cache_file)


@cache
def _cache_dir() -> str:
    return tempfile.mkdtemp(prefix="portal-k8s-discovery-")


class KindNotInstalled(Exception):
    """The cluster does not serve this apiVersion/kind (its CRD is not installed)."""


def find_resource(dyn: DynamicClient, api_version: str, kind: str):
    try:
        return dyn.resources.get(api_version=api_version, kind=kind)
    except ResourceNotFoundError as exc:
        raise KindNotInstalled(
            f"the cluster does not serve {kind} ({api_version}); install its CustomResourceDefinition"
        ) from exc
