"""What ``analyze`` reads (an inventory of Kubernetes objects and AWS resources) and what it reports (findings)."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from provisioning.names import CLUSTER_DOMAIN

from .codes import CODES

# Kinds without a namespace. Any other kind given without ``metadata.namespace`` lives in ``default``, where
# kubectl would create it.
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "APIService",
        "ClusterIssuer",
        "ClusterRole",
        "ClusterRoleBinding",
        "ClusterSecretStore",
        "CustomResourceDefinition",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PriorityClass",
        "StorageClass",
        "ValidatingWebhookConfiguration",
    }
)
DEFAULT_NAMESPACE = "default"


def cluster_scoped(kind: str) -> bool:
    """Known cluster-scoped kinds, and external cert-manager cluster issuers (``AWSPCAClusterIssuer``...), the only
    custom kinds analyze looks up: it has no CRDs to ask."""
    return kind in CLUSTER_SCOPED_KINDS or kind.endswith("ClusterIssuer")


class ManifestError(ValueError):
    """A document that claims to be a Kubernetes object but cannot be one; the message names the field."""


@dataclass(frozen=True)
class KubeObject:
    """One Kubernetes object of the set, addressed as the findings name it."""

    api_version: str
    kind: str
    namespace: str
    name: str
    body: Mapping[str, Any] = field(compare=False, hash=False, repr=False)

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any]) -> "KubeObject":
        api_version, kind = manifest.get("apiVersion"), manifest.get("kind")
        if not isinstance(api_version, str) or not api_version:
            raise ManifestError("apiVersion is missing or not a string")
        if not isinstance(kind, str) or not kind:
            raise ManifestError("kind is missing or not a string")
        metadata = manifest.get("metadata")
        if not isinstance(metadata, Mapping):
            raise ManifestError(f"{kind}: metadata is missing or not a mapping")
        name, namespace = metadata.get("name"), metadata.get("namespace")
        if not isinstance(name, str) or not name:
            raise ManifestError(f"{kind}: metadata.name is missing or not a string")
        if namespace is not None and not isinstance(namespace, str):
            raise ManifestError(f"{kind}/{name}: metadata.namespace is not a string")
        namespace = "" if cluster_scoped(kind) else namespace or DEFAULT_NAMESPACE
        return cls(api_version, kind, namespace, name, manifest)

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def ident(self) -> str:
        """``Kind/namespace/name``, or ``Kind/name`` for a cluster-scoped object."""
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"

    @property
    def spec(self) -> Mapping[str, Any]:
        return mapping(self.body.get("spec"))

    @property
    def labels(self) -> Mapping[str, Any]:
        return mapping(mapping(self.body.get("metadata")).get("labels"))

    @property
    def annotations(self) -> Mapping[str, Any]:
        return mapping(mapping(self.body.get("metadata")).get("annotations"))


@dataclass(frozen=True)
class AwsResource:
    """An AWS resource of the desired state (a record, a certificate, a listener, a WAF association). ``scope`` is
    the portal's namespace of the resource (the exposure level, a zone id, a group); ``outputs`` what AWS reported
    for it when it was last applied (ARNs, DNS names), by which other resources may refer to it."""

    kind: str
    name: str
    spec: Mapping[str, Any] = field(compare=False, hash=False, repr=False)
    scope: str = ""
    outputs: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def ident(self) -> str:
        """``kind/scope/name``, or ``kind/name`` without a scope, as the findings name it."""
        return f"{self.kind}/{self.scope}/{self.name}" if self.scope else f"{self.kind}/{self.name}"

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> "AwsResource":
        """A resource written as the portal renders it: ``{provider: aws, kind, name, namespace, body, outputs}``."""
        kind, name = document.get("kind"), document.get("name")
        if not isinstance(kind, str) or not kind:
            raise ManifestError("aws resource: kind is missing or not a string")
        if not isinstance(name, str) or not name:
            raise ManifestError(f"{kind}: name is missing or not a string")
        for key in ("body", "outputs"):
            if not isinstance(document.get(key, {}), Mapping):
                raise ManifestError(f"{kind}/{name}: {key} is not a mapping")
        scope = document.get("namespace") or ""
        if not isinstance(scope, str):
            raise ManifestError(f"{kind}/{name}: namespace is not a string")
        return cls(kind, name, document.get("body") or {}, scope, document.get("outputs") or {})


class RenderedResource(Protocol):
    """What the portal's renderers produce (``provisioning.resources.Resource``), as far as analyze reads it."""

    provider: str
    kind: str
    name: str
    namespace: str
    body: dict[str, Any]


@dataclass(frozen=True)
class Inventory:
    """The set analyzed: Kubernetes objects, and the AWS resources that the AWS checks will read."""

    objects: tuple[KubeObject, ...]
    aws: tuple[AwsResource, ...] = ()

    @classmethod
    def from_manifests(cls, manifests: Iterable[Mapping[str, Any]]) -> "Inventory":
        return cls(tuple(KubeObject.from_manifest(m) for m in manifests))

    @classmethod
    def from_resources(
        cls,
        resources: Iterable[RenderedResource],
        outputs: Mapping[tuple[str, str], Mapping[str, Any]] | None = None,
    ) -> "Inventory":
        """The portal's own desired state: Kubernetes manifests and AWS resource specs, with what the AWS ones
        reported when last applied (``outputs`` by kind and name)."""
        objects, aws = [], []
        outputs = outputs or {}
        for resource in resources:
            if resource.provider == "kubernetes":
                objects.append(KubeObject.from_manifest(resource.body))
            else:
                found = outputs.get((resource.kind, resource.name)) or {}
                aws.append(AwsResource(resource.kind, resource.name, resource.body, resource.namespace, found))
        return cls(tuple(objects), tuple(aws))

    @classmethod
    def from_documents(cls, documents: Iterable[Mapping[str, Any]]) -> "Inventory":
        """Kubernetes manifests and AWS resources (documents with ``provider: aws``) read from YAML."""
        objects, aws = [], []
        for document in documents:
            if document.get("provider") == "aws":
                aws.append(AwsResource.from_document(document))
            else:
                objects.append(KubeObject.from_manifest(document))
        return cls(tuple(objects), tuple(aws))


@dataclass(frozen=True)
class Settings:
    """Facts of the mesh that the objects do not carry."""

    cluster_domain: str = CLUSTER_DOMAIN
    # Istio's default root namespace: its PeerAuthentication and AuthorizationPolicies apply mesh-wide.
    root_namespace: str = "istio-system"
    # The networks an internal ALB is meant for (the corp CIDRs); an internet-facing one is meant for anyone.
    internal_sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    """One wiring defect: which code, on which object, at which field."""

    code: str
    object: str
    path: str
    message: str

    @property
    def severity(self) -> str:
        return CODES[self.code].severity

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "severity": self.severity,
            "object": self.object,
            "path": self.path,
            "message": self.message,
        }


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a mapping, else empty: schema validation, not analyze, reports malformed fields."""
    return value if isinstance(value, Mapping) else {}


def sequence(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""
