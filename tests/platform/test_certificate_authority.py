"""The cluster's CA chain: every certificate outside the mesh names an issuer the platform renders, and every
issuer and Secret on the way is produced by an object of the set (``analyze`` PA007 and PA008 find none)."""

from provisioning import names
from provisioning.analyze.checks import analyze
from provisioning.analyze.model import Inventory, Settings
from provisioning.spec import EXPOSED_LEVELS

from .samples import PLATFORM, SERVICES, find, one, platform_manifests, service_manifests


def issuer_of(manifests, certificate):
    ref = certificate["spec"]["issuerRef"]
    assert (ref["kind"], ref.get("group")) == ("ClusterIssuer", "cert-manager.io"), ref
    return one(manifests, "ClusterIssuer", ref["name"])


def test_the_internal_ca_is_a_ca_issuer_reading_a_secret_the_ca_certificate_writes():
    manifests = platform_manifests()
    issuer = one(manifests, "ClusterIssuer", names.CLUSTER_ISSUER)
    secret = issuer["spec"]["ca"]["secretName"]
    # A ClusterIssuer reads its Secret in cert-manager's cluster resource namespace.
    (ca,) = [
        c
        for c in find(manifests, "Certificate", namespace=names.CERT_MANAGER_NAMESPACE)
        if c["spec"]["secretName"] == secret
    ]
    assert ca["spec"]["isCA"] is True
    bootstrap = issuer_of(manifests, ca)
    assert bootstrap["spec"] == {"selfSigned": {}}, "the chain starts at a self-signed issuer"
    assert bootstrap["metadata"]["name"] != names.CLUSTER_ISSUER


def test_every_certificate_names_an_issuer_of_the_set_and_only_the_ca_is_self_signed():
    manifests = platform_manifests()
    certificates = find(manifests, "Certificate")
    assert {c["metadata"]["name"] for c in certificates} >= {names.gateway_tls_secret_name(lv) for lv in EXPOSED_LEVELS}
    for certificate in certificates:
        issuer = issuer_of(manifests, certificate)
        if certificate["spec"].get("isCA"):
            continue
        assert issuer["metadata"]["name"] == names.CLUSTER_ISSUER, certificate["metadata"]


def test_every_gateway_credential_is_written_by_a_certificate_of_the_internal_ca():
    manifests = platform_manifests()
    for gateway in find(manifests, "Gateway"):
        ns = gateway["metadata"]["namespace"]
        for server in gateway["spec"]["servers"]:
            secret = server["tls"]["credentialName"]
            (certificate,) = [
                c for c in find(manifests, "Certificate", namespace=ns) if c["spec"]["secretName"] == secret
            ]
            assert certificate["spec"]["issuerRef"]["name"] == names.CLUSTER_ISSUER


def test_analyze_finds_no_missing_issuer_or_secret():
    manifests = platform_manifests()
    for svc in SERVICES.values():
        manifests += service_manifests(svc)
    findings = analyze(Inventory.from_manifests(manifests), Settings(root_namespace=PLATFORM.istio_root_namespace))
    assert [f for f in findings if f.code in ("PA007", "PA008")] == []
