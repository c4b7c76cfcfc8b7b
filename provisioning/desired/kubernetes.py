"""Pure builders of a service's core Kubernetes objects: namespace, identity, Service and, outside the mesh, Ingress.

Every function takes the frozen spec and returns plain manifests; same input, same output.
"""

from typing import Any

from provisioning import names
from provisioning.resources import Resource, k8s
from provisioning.spec import INTERNAL, PlatformSpec, ServiceSpec

# Kubernetes appProtocol per catalog protocol; Istio reads it alongside the port-name prefix.
APP_PROTOCOLS = {"http": "http", "grpc": "grpc", "tcp": "tcp"}

INGRESS_CLASS = "nginx"
AUTH_URL_ANNOTATION = "nginx.ingress.kubernetes.io/auth-url"
AUTH_SIGNIN_ANNOTATION = "nginx.ingress.kubernetes.io/auth-signin"


def object_meta(
    svc: ServiceSpec,
    name: str,
    *,
    namespaced: bool = True,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``metadata`` of an object the portal owns for ``svc``: the service's labels plus any kind-specific ones."""
    meta: dict[str, Any] = {"name": name}
    if namespaced:
        meta["namespace"] = svc.name
    meta["labels"] = {**names.service_labels(svc.team.slug, svc.name), **(labels or {})}
    if annotations:
        meta["annotations"] = annotations
    return meta


def namespace(svc: ServiceSpec) -> dict[str, Any]:
    """The service's own namespace; injection is stated either way so a mesh-wide default cannot override it."""
    injection = "enabled" if svc.mesh else "disabled"
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": object_meta(svc, svc.name, namespaced=False, labels={"istio-injection": injection}),
    }


def service_account(svc: ServiceSpec) -> dict[str, Any]:
    """The workload identity; ``names.principal`` relies on it being named after the service."""
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": object_meta(svc, svc.name)}


def service_ports(svc: ServiceSpec) -> list[dict[str, Any]]:
    """The main port (Istio protocol naming) and, when metrics are served elsewhere, the scrape port."""
    ports = [
        {
            "name": names.port_name(svc.protocol, svc.port),
            "port": svc.port,
            "targetPort": svc.port,
            "protocol": "TCP",
            "appProtocol": APP_PROTOCOLS[svc.protocol],
        }
    ]
    if svc.metrics_port != svc.port:
        ports.append(
            {
                "name": names.METRICS_PORT_NAME,
                "port": svc.metrics_port,
                "targetPort": svc.metrics_port,
                "protocol": "TCP",
                "appProtocol": "http",
            }
        )
    return ports


def service(svc: ServiceSpec) -> dict[str, Any]:
    """ClusterIP Service selecting the team's pods by the recommended name label."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_meta(svc, svc.name),
        "spec": {
            "type": "ClusterIP",
            "selector": {names.LABEL_NAME: svc.name},
            "ports": service_ports(svc),
        },
    }


SIGN_IN_ANNOTATION = "portal.io/sign-in"
# What a tool with built-in SSO is told, on its Ingress: the portal renders Grafana's sign-in settings, not a
# team's application's, which the team points at the platform's IdP itself.
BUILTIN_SSO_NOTE = (
    "built-in SSO: the application signs people in at the IdP itself; the portal renders none of its settings"
)


def oauth2_proxy_annotations(svc: ServiceSpec, platform: PlatformSpec) -> dict[str, str]:
    """Nginx external-auth annotations putting OAuth2 Proxy in front, unless the tool signs users in itself."""
    if svc.exposure.builtin_sso:
        return {SIGN_IN_ANNOTATION: BUILTIN_SSO_NOTE}
    proxy = platform.oauth2_proxy_url.rstrip("/")
    return {
        AUTH_URL_ANNOTATION: names.oauth2_proxy_auth_url(),
        AUTH_SIGNIN_ANNOTATION: f"{proxy}/oauth2/start?rd=$scheme://$host$escaped_request_uri",
    }


def ingress(svc: ServiceSpec, platform: PlatformSpec) -> dict[str, Any]:
    """Nginx Ingress for an ``internal`` service outside the mesh: one rule per hostname, one path per prefix."""
    backend = {"service": {"name": svc.name, "port": {"number": svc.port}}}
    paths = [{"path": path, "pathType": "Prefix", "backend": backend} for path in svc.exposure.paths]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": object_meta(svc, svc.name, annotations=oauth2_proxy_annotations(svc, platform)),
        "spec": {
            "ingressClassName": INGRESS_CLASS,
            "tls": [{"hosts": list(svc.exposure.hostnames), "secretName": names.tls_secret_name(svc.name)}],
            "rules": [{"host": host, "http": {"paths": paths}} for host in svc.exposure.hostnames],
        },
    }


def certificate(svc: ServiceSpec) -> dict[str, Any]:
    """cert-manager Certificate whose Secret the Ingress serves."""
    secret = names.tls_secret_name(svc.name)
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": object_meta(svc, secret),
        "spec": {
            "secretName": secret,
            "dnsNames": list(svc.exposure.hostnames),
            "issuerRef": {"name": names.CLUSTER_ISSUER, "kind": "ClusterIssuer", "group": "cert-manager.io"},
        },
    }


def uses_nginx_ingress(svc: ServiceSpec) -> bool:
    """Outside the mesh an ``internal`` service is reached through Nginx Ingress (the mesh uses Istio gateways)."""
    return not svc.mesh and svc.exposure.level == INTERNAL


def build_core(svc: ServiceSpec, platform: PlatformSpec) -> list[Resource]:
    """Namespace, ServiceAccount and Service of every service, plus Ingress and Certificate outside the mesh."""
    manifests = [namespace(svc), service_account(svc), service(svc)]
    if uses_nginx_ingress(svc):
        manifests += [ingress(svc, platform), certificate(svc)]
    return [k8s(manifest) for manifest in manifests]
