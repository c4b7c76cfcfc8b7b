"""The wiring checks (``provisioning.analyze``) over the portal's own desired state.

A scope is analyzed together with what its objects refer to: a service with the platform layer (its gateways,
ALBs, listeners, WAF) and the services it routes requests to or receives routes from; the platform layer with
itself. The AWS resources carry what AWS reported when they were last applied (the inventory's outputs), since
records and certificates point at an ALB and a listener by DNS name and ARN. Only the findings on the scope's own
objects are the scope's: a defect of the platform layer blocks the platform's apply, not every service's.

The platform layer configures the Nginx Ingress controller and OAuth2 Proxy but does not install them: their
upstream charts do (``charted_services``), as the Prometheus operator keeps the kubelets' Service. Those Services
are added to every analysis so that the references to them (the internal gateway's route to Nginx, OAuth2 Proxy's
Ingress, the kubelets' ServiceMonitor) resolve; they are never findings' objects.
"""

from collections.abc import Iterable
from typing import Any

from . import names
from .analyze import Finding, Inventory, KubeObject, Settings, analyze
from .desired import render_service
from .desired.platform import render_platform
from .desired.platform.cluster import KUBELET, KUBELET_PORT, KUBELET_PORT_NAME, KUBELET_SERVICE_LABELS
from .desired.platform.ingress import HTTPS_PORT, NGINX_CONTROLLER_SERVICE
from .resources import Resource
from .scopes import PLATFORM_KEY, service_of
from .snapshot import active_services, load_services, platform_snapshot, recorded_aws_outputs, route_neighbours
from .spec import PlatformSpec


def analysis_settings(platform: PlatformSpec) -> Settings:
    """The facts of the mesh the objects do not carry: Istio's root namespace, the internal ALBs' clients."""
    return Settings(root_namespace=platform.istio_root_namespace, internal_sources=tuple(platform.corp_cidrs))


def _service(
    name: str, namespace: str, ports: list[dict[str, Any]], labels: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, **({"labels": labels} if labels else {})},
        "spec": {"ports": ports},
    }


def charted_services() -> list[dict[str, Any]]:
    """The Services the Nginx Ingress and OAuth2 Proxy charts install (release names ``ingress-nginx`` and
    ``oauth2-proxy``), and the kubelets' Service the Prometheus operator keeps, as far as the platform's objects
    refer to them."""
    return [
        _service(KUBELET, "kube-system", [{"name": KUBELET_PORT_NAME, "port": KUBELET_PORT}], KUBELET_SERVICE_LABELS),
        _service(
            NGINX_CONTROLLER_SERVICE,
            names.INGRESS_NGINX_NAMESPACE,
            [{"name": "http", "port": 80}, {"name": "https", "port": HTTPS_PORT}],
        ),
        _service(
            names.OAUTH2_PROXY_SERVICE,
            names.OAUTH2_PROXY_NAMESPACE,
            [{"name": "http", "port": names.OAUTH2_PROXY_SERVICE_PORT}],
        ),
    ]


def inventory_of(resources: Iterable[Resource], outputs: dict[tuple[str, str], dict]) -> Inventory:
    """Rendered resources as the analyzer reads them, the AWS ones with ``outputs`` (what AWS reported, by kind and
    name), and the Services the platform's charts install."""
    rendered = Inventory.from_resources(resources, outputs)
    charted = tuple(KubeObject.from_manifest(m) for m in charted_services())
    return Inventory(rendered.objects + charted, rendered.aws)


def own_idents(resources: Iterable[Resource]) -> set[str]:
    """The identities (as findings name them) of a scope's own resources."""
    inventory = Inventory.from_resources(resources)
    return {o.ident for o in inventory.objects} | {r.ident for r in inventory.aws}


def context(key: str, desired: list[Resource], platform: PlatformSpec) -> list[Resource]:
    """The scope's desired resources and those its objects refer to."""
    if key == PLATFORM_KEY:
        return list(desired)
    resources = [*desired, *render_platform(platform)]
    for _, snapshot in load_services(route_neighbours(service_of(key))).values():
        resources.extend(render_service(snapshot, platform))
    return resources


def scope_findings(key: str, desired: list[Resource], platform: PlatformSpec) -> list[Finding]:
    """The findings on the scope's own objects, analyzed with what they refer to; none when nothing is desired
    (a destroy)."""
    if not desired:
        return []
    findings = analyze(
        inventory_of(context(key, desired, platform), recorded_aws_outputs()), analysis_settings(platform)
    )
    own = own_idents(desired)
    return [f for f in findings if f.object in own]


def desired_state(platform: PlatformSpec | None = None) -> tuple[Inventory, Settings]:
    """The portal's whole desired state: the platform layer and every active service, with AWS resources."""
    platform = platform or platform_snapshot()
    resources = list(render_platform(platform))
    for _, snapshot in load_services([name for _, name in active_services()]).values():
        resources.extend(render_service(snapshot, platform))
    return inventory_of(resources, recorded_aws_outputs()), analysis_settings(platform)


def portal_findings() -> list[Finding]:
    """Every finding of the portal's whole desired state."""
    inventory, settings = desired_state()
    return analyze(inventory, settings)
