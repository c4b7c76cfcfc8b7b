"""The cluster's own certificate authority (seed §17 "サービスメッシュ外"): cert-manager issues what Istio does not.

Inside the mesh istiod signs the workloads' certificates. Everything else the platform serves over TLS inside the
cluster gets its certificate from cert-manager's ClusterIssuer ``names.CLUSTER_ISSUER``: the ingress gateways'
certificates towards the ALB, and the certificates Nginx Ingress serves for the tools outside the mesh (OAuth2
Proxy, the SRE consoles, services registered outside the mesh). The chain is rendered here, so nothing refers to
an issuer that no object creates:

1. ``names.BOOTSTRAP_ISSUER``, a self-signed ClusterIssuer, signs exactly one certificate:
2. the CA Certificate ``names.CLUSTER_CA``, whose key and certificate cert-manager writes into the Secret of the
   same name in ``names.CERT_MANAGER_NAMESPACE`` (the cluster resource namespace, where a ClusterIssuer reads its
   Secrets: cert-manager's ``--cluster-resource-namespace``, by default the namespace it runs in);
3. ``names.CLUSTER_ISSUER``, a CA ClusterIssuer signing with that Secret.

Nobody outside verifies these certificates (the ALB does not verify its targets, the ACM certificates are what
browsers see); they encrypt the hops inside the VPC. cert-manager renews the CA before it expires and re-issues
the leaves; the CA namespace belongs to cert-manager's installation, so the layer never owns (nor prunes) it.
"""

from typing import Any

from provisioning import names
from provisioning.spec import PlatformSpec

from .objects import metadata

COMPONENT = "cert-manager"
CERT_MANAGER_API = "cert-manager.io/v1"
CERT_MANAGER_GROUP = "cert-manager.io"
# Ten years, renewed with a year to spare: the CA outlives every leaf it signs (cert-manager's default 90 days).
CA_DURATION = "87600h"
CA_RENEW_BEFORE = "8760h"


def issuer_ref(name: str = names.CLUSTER_ISSUER) -> dict[str, str]:
    """A Certificate's reference to one of the platform's ClusterIssuers (the cluster's CA by default)."""
    return {"name": name, "kind": "ClusterIssuer", "group": CERT_MANAGER_GROUP}


def bootstrap_issuer() -> dict[str, Any]:
    return {
        "apiVersion": CERT_MANAGER_API,
        "kind": "ClusterIssuer",
        "metadata": metadata(names.BOOTSTRAP_ISSUER, COMPONENT),
        "spec": {"selfSigned": {}},
    }


def ca_certificate(platform: PlatformSpec) -> dict[str, Any]:
    """The cluster's CA, self-signed by the bootstrap issuer, named after the cluster."""
    return {
        "apiVersion": CERT_MANAGER_API,
        "kind": "Certificate",
        "metadata": metadata(names.CLUSTER_CA, COMPONENT, names.CERT_MANAGER_NAMESPACE),
        "spec": {
            "isCA": True,
            "commonName": f"{platform.cluster_name} internal CA",
            "secretName": names.CLUSTER_CA,
            "duration": CA_DURATION,
            "renewBefore": CA_RENEW_BEFORE,
            "privateKey": {"algorithm": "ECDSA", "size": 256},
            "issuerRef": issuer_ref(names.BOOTSTRAP_ISSUER),
        },
    }


def cluster_issuer() -> dict[str, Any]:
    """The issuer every certificate outside the mesh names: it signs with the CA's Secret."""
    return {
        "apiVersion": CERT_MANAGER_API,
        "kind": "ClusterIssuer",
        "metadata": metadata(names.CLUSTER_ISSUER, COMPONENT),
        "spec": {"ca": {"secretName": names.CLUSTER_CA}},
    }


def build_certificate_authority(platform: PlatformSpec) -> list[dict[str, Any]]:
    return [bootstrap_issuer(), ca_certificate(platform), cluster_issuer()]
