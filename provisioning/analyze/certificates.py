"""cert-manager: Certificates, and Ingresses that ask ingress-shim for one, name an issuer of the set (PA007)."""

from collections.abc import Iterator

from .graph import CERT_MANAGER, INGRESS_GROUPS, Graph
from .model import Finding, text

ISSUER_ANNOTATION = "cert-manager.io/issuer"
CLUSTER_ISSUER_ANNOTATION = "cert-manager.io/cluster-issuer"
SHIM_ANNOTATIONS = (CLUSTER_ISSUER_ANNOTATION, ISSUER_ANNOTATION)


def _issuer_exists(graph: Graph, group: str, kind: str, namespace: str, name: str) -> bool:
    if group != CERT_MANAGER:
        # An external issuer (AWS Private CA, Google CAS...): any object of that kind and name will do.
        return graph.find(group, kind, namespace, name) is not None
    if kind == "ClusterIssuer":
        return graph.get(CERT_MANAGER, "ClusterIssuer", "", name) is not None
    return kind == "Issuer" and graph.get(CERT_MANAGER, "Issuer", namespace, name) is not None


def _missing(kind: str, group: str, namespace: str, name: str) -> str:
    qualified = kind if group == CERT_MANAGER else f"{kind}.{group}"
    where = name if "Cluster" in kind else f"{namespace}/{name}"
    return f"{qualified} {where} is not in the set; cert-manager never issues the certificate"


def check_issuers(graph: Graph) -> Iterator[Finding]:
    """PA007: a Certificate's ``issuerRef`` (kind Issuer by default, same namespace; or a ClusterIssuer) and an
    Ingress's ingress-shim annotations name an issuer of the set."""
    for certificate in graph.of_kind("Certificate", CERT_MANAGER):
        reference = certificate.spec.get("issuerRef")
        reference = reference if isinstance(reference, dict) else {}
        name = text(reference.get("name")).strip()
        kind = text(reference.get("kind")) or "Issuer"
        group = text(reference.get("group")) or CERT_MANAGER
        if name and not _issuer_exists(graph, group, kind, certificate.namespace, name):
            yield Finding(
                "PA007", certificate.ident, "spec.issuerRef.name", _missing(kind, group, certificate.namespace, name)
            )
    for ingress in graph.of_kind("Ingress", *INGRESS_GROUPS):
        annotations = ingress.annotations
        group = text(annotations.get("cert-manager.io/issuer-group")) or CERT_MANAGER
        for annotation in SHIM_ANNOTATIONS:
            name = text(annotations.get(annotation)).strip()
            if not name:
                continue
            if annotation == CLUSTER_ISSUER_ANNOTATION:
                kind = "ClusterIssuer"
            else:
                kind = text(annotations.get("cert-manager.io/issuer-kind")) or "Issuer"
            if not _issuer_exists(graph, group, kind, ingress.namespace, name):
                yield Finding(
                    "PA007",
                    ingress.ident,
                    f"metadata.annotations['{annotation}']",
                    _missing(kind, group, ingress.namespace, name),
                )
