"""The unit every stage passes along: one desired (or observed) resource."""

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from .aws.kinds import ORDER as AWS_ORDER

KUBERNETES = "kubernetes"
AWS = "aws"


@dataclass(frozen=True)
class Resource:
    """A Kubernetes object (``body`` is the manifest) or an AWS resource (``body`` is its spec)."""

    provider: str
    kind: str
    name: str
    namespace: str = ""
    api_version: str = ""
    body: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    # Parts of the body that must never be shown or committed (Secret data).
    sensitive: bool = False
    # Inventory scope of a resource shared beyond one service (a team's SNS topic); empty = the run's scope.
    owner: str = ""
    # Values only the writer may see (a webhook URL to subscribe): outside the body, so never in a digest, a
    # plan, the inventory or a log; the body holds their fingerprints instead.
    secrets: dict[str, str] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def key(self) -> str:
        """Stable identity across renders, observations and the inventory."""
        return "|".join((self.provider, self.api_version, self.kind, self.namespace, self.name))

    @property
    def digest(self) -> str:
        return body_digest(self.body)

    def label(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


SEALED_KEYS = ("data", "stringData")


def seal(resource: Resource) -> Resource:
    """A sensitive resource with its secret values replaced by their digests: what the inventory keeps and
    what drift is compared on, so a changed secret still shows without the secret being stored."""
    if not resource.sensitive:
        return resource
    body = dict(resource.body)
    for key in SEALED_KEYS:
        if isinstance(body.get(key), dict):
            body[key] = {
                k: v if str(v).startswith("sha256:") else "sha256:" + hashlib.sha256(str(v).encode()).hexdigest()
                for k, v in body[key].items()
            }
    return replace(resource, body=body)


def canonical_json(body: Any) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)


def body_digest(body: Any) -> str:
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def k8s(manifest: dict[str, Any], *, sensitive: bool = False) -> Resource:
    """Wrap a Kubernetes manifest."""
    meta = manifest["metadata"]
    return Resource(
        provider=KUBERNETES,
        kind=manifest["kind"],
        name=meta["name"],
        namespace=meta.get("namespace", ""),
        api_version=manifest["apiVersion"],
        body=manifest,
        # Whatever built or read it, a Secret's values are never shown, committed or stored.
        sensitive=sensitive or manifest["kind"] == "Secret",
    )


def aws(
    kind: str,
    name: str,
    body: dict[str, Any],
    *,
    namespace: str = "",
    owner: str = "",
    secrets: dict[str, str] | None = None,
) -> Resource:
    """An AWS resource of one of ``aws.kinds``; ``namespace`` narrows its name (a zone id, an exposure level)."""
    return Resource(
        provider=AWS, kind=kind, name=name, namespace=namespace, body=body, owner=owner, secrets=secrets or {}
    )


def canonical_order(items: list[Any]) -> list[Any]:
    """A list whose order means nothing (security-group rules, addresses), in the one order builders and readers
    both use, so that only its content is compared."""
    return sorted(items, key=canonical_json)


def sort_resources(resources: list[Resource]) -> list[Resource]:
    """Deterministic order: Kubernetes before AWS, namespaces first, then by kind and name; AWS kinds in the order
    they are created (what others point at first)."""
    rank = {"Namespace": 0, "ServiceAccount": 1, "Secret": 2, "ConfigMap": 3, "Service": 4}
    rank |= {kind: position for position, kind in enumerate(AWS_ORDER)}
    return sorted(
        resources,
        key=lambda r: (r.provider != KUBERNETES, rank.get(r.kind, len(AWS_ORDER)), r.kind, r.namespace, r.name),
    )


class _PlainDumper(yaml.SafeDumper):
    """Block-style YAML without anchors/aliases, as people and GitOps tools expect to read it."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # Embedded configuration files (Fluent Bit, the mesh config, dashboards) read as literal blocks.
    style = "|" if "\n" in value and not any(line != line.rstrip() for line in value.splitlines()) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_PlainDumper.add_representer(str, _string)


def to_yaml(body: dict[str, Any]) -> str:
    return yaml.dump(body, Dumper=_PlainDumper, sort_keys=False, default_flow_style=False)


def to_yaml_documents(bodies: list[dict[str, Any]]) -> str:
    return yaml.dump_all(bodies, Dumper=_PlainDumper, sort_keys=False, default_flow_style=False)
