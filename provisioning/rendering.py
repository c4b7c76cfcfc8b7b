"""The rendered desired state as people read it (secret values hidden)."""

import base64

from .desired import render_service
from .diff import REDACTED
from .resources import Resource, to_yaml_documents
from .snapshot import load_service, platform_snapshot


def redacted(resource: Resource) -> dict:
    """The body with secret values replaced, keys kept (so people see what a Secret holds)."""
    if not resource.sensitive:
        return resource.body
    body = dict(resource.body)
    for key in ("data", "stringData"):
        if key in body:
            body[key] = {k: base64.b64encode(REDACTED.encode()).decode() for k in body[key]}
    return body


def document(resource: Resource) -> dict:
    """A Kubernetes object as its manifest; an AWS resource as its kind, name and declared spec."""
    if resource.provider == "kubernetes":
        return redacted(resource)
    head = {"provider": resource.provider, "kind": resource.kind, "name": resource.name}
    if resource.namespace:
        head["scope"] = resource.namespace
    return {**head, "spec": resource.body}


def rendered_yaml(service_name: str, provider: str = "kubernetes") -> str:
    resources = render_service(load_service(service_name), platform_snapshot())
    return to_yaml_documents([document(r) for r in resources if r.provider == provider])


def rendered_platform_yaml(provider: str = "kubernetes") -> str:
    from .desired.platform import render_platform

    return to_yaml_documents([document(r) for r in render_platform(platform_snapshot()) if r.provider == provider])
