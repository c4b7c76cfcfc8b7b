"""Pure builders of a mesh service's upstreams outside the cluster (seed §15, §17): per external dependency a
ServiceEntry that puts the host into the service's sidecar registry, and a DestinationRule that says who does TLS.

- ``tls: sidecar``: the application speaks plain text and its sidecar originates TLS (``mode: SIMPLE``) with the
  upstream's name as SNI, verifying the server with the CA bundle of ``ca_secret`` (``credentialName``; a sidecar
  reads it only from a rule with a ``workloadSelector``, so the rule selects the service's pods) or else the
  sidecar's system CAs. The ServiceEntry's port says HTTP for ``http`` (the sidecar sees requests, so they get
  metrics and traces) and TCP otherwise.
- ``tls: application``: the application does TLS itself, as MySQL and PostgreSQL clients must (TLS begins inside
  their protocol, after the server's greeting, so a TLS handshake from the sidecar would meet a plain-text
  greeting and fail): the port is TCP for those and TLS otherwise (the sidecar routes by SNI), and the rule says
  ``mode: DISABLE`` so the sidecar passes the bytes through at L4 and adds nothing.

Both objects are exported to the service's namespace only: another service's calls to the same host follow that
service's own declaration.
"""

from typing import Any

from provisioning import names
from provisioning.desired.kubernetes import object_meta
from provisioning.resources import Resource, k8s
from provisioning.spec import INNER_TLS_PROTOCOLS, TLS_BY_SIDECAR, ExternalDependency, ServiceSpec

NETWORKING = "networking.istio.io/v1"
THIS_NAMESPACE = "."


def port_protocol(dependency: ExternalDependency) -> str:
    """The ServiceEntry port's protocol: what the sidecar sees of the application's bytes."""
    if dependency.tls == TLS_BY_SIDECAR:
        return "HTTP" if dependency.protocol == "http" else "TCP"
    return "TCP" if dependency.protocol in INNER_TLS_PROTOCOLS else "TLS"


def service_entry(svc: ServiceSpec, dependency: ExternalDependency) -> dict[str, Any]:
    """The upstream in the sidecar's registry: outside the mesh, its address found by DNS."""
    protocol = port_protocol(dependency)
    return {
        "apiVersion": NETWORKING,
        "kind": "ServiceEntry",
        "metadata": object_meta(svc, names.external_dependency_name(dependency.name)),
        "spec": {
            "hosts": [dependency.host],
            "exportTo": [THIS_NAMESPACE],
            "location": "MESH_EXTERNAL",
            "resolution": "DNS",
            "ports": [
                {"number": dependency.port, "name": f"{protocol.lower()}-{dependency.port}", "protocol": protocol}
            ],
        },
    }


def client_tls(dependency: ExternalDependency) -> dict[str, Any]:
    """TLS the sidecar originates (SIMPLE, SNI, the CA), or none when the application does it."""
    if dependency.tls != TLS_BY_SIDECAR:
        return {"mode": "DISABLE"}
    tls: dict[str, Any] = {"mode": "SIMPLE", "sni": dependency.host}
    if dependency.ca_secret:
        tls["credentialName"] = dependency.ca_secret
    return tls


def destination_rule(svc: ServiceSpec, dependency: ExternalDependency) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "host": dependency.host,
        "exportTo": [THIS_NAMESPACE],
        "trafficPolicy": {"tls": client_tls(dependency)},
    }
    if dependency.tls == TLS_BY_SIDECAR and dependency.ca_secret:
        spec["workloadSelector"] = {"matchLabels": {names.LABEL_NAME: svc.name}}
    return {
        "apiVersion": NETWORKING,
        "kind": "DestinationRule",
        "metadata": object_meta(svc, names.external_dependency_name(dependency.name)),
        "spec": spec,
    }


def build_egress(svc: ServiceSpec) -> list[Resource]:
    """A ServiceEntry and a DestinationRule per external dependency of a mesh service (none outside the mesh)."""
    if not svc.mesh:
        return []
    manifests = []
    for dependency in svc.traffic.external_dependencies:
        manifests += [service_entry(svc, dependency), destination_rule(svc, dependency)]
    return [k8s(manifest) for manifest in manifests]
