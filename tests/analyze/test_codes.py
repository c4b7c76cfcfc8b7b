"""Each code has a failing and a passing fixture (``fixtures/<code>/{fail,pass}.yaml``): the failing one yields
exactly the findings listed here and no other code, the passing one (the same set, wired) yields nothing. The
PA1xx fixtures hold AWS resources too (documents with ``provider: aws``), as the portal renders them."""

from pathlib import Path

import pytest
import yaml

from provisioning.analyze import CODES, analyze
from provisioning.analyze.aws import acm_covers
from provisioning.analyze.model import Inventory

FIXTURES = Path(__file__).resolve().parent / "fixtures"

EXPECTED: dict[str, list[tuple[str, str]]] = {
    "PA001": [
        ("VirtualService/shop/storefront", "spec.gateways[0]"),
        ("VirtualService/shop/storefront", "spec.gateways[1]"),
    ],
    "PA002": [
        ("VirtualService/catalog/catalog", "spec.hosts[0]"),
        ("VirtualService/shop/storefront", "spec.hosts[0]"),
    ],
    "PA003": [("VirtualService/shop/storefront", "spec.http[0].route[1].destination.subset")],
    "PA004": [
        ("DestinationRule/shop/inventory", "spec.host"),
        ("VirtualService/shop/storefront", "spec.http[0].mirror.host"),
        ("VirtualService/shop/storefront", "spec.http[0].route[0].destination.host"),
        ("VirtualService/shop/storefront", "spec.tcp[0].route[0].destination.host"),
    ],
    "PA005": [
        ("VirtualService/shop/storefront", "spec.http[0].route[0].destination.host"),
        ("VirtualService/shop/storefront", "spec.http[1].route[0].destination.host"),
    ],
    "PA006": [
        ("DestinationRule/shop/storefront", "spec.subsets[0].trafficPolicy.portLevelSettings[0].tls.mode"),
        ("DestinationRule/shop/storefront", "spec.trafficPolicy.tls.mode"),
    ],
    "PA007": [
        ("Certificate/shop/internal-tls", "spec.issuerRef.name"),
        ("Certificate/shop/storefront-tls", "spec.issuerRef.name"),
        ("Ingress/shop/admin", "metadata.annotations['cert-manager.io/cluster-issuer']"),
    ],
    "PA008": [
        ("AlertmanagerConfig/shop/shop", "spec.receivers[0].slackConfigs[0].apiURL.key"),
        ("AlertmanagerConfig/shop/shop", "spec.receivers[1].webhookConfigs[0].urlSecret"),
        ("Gateway/istio-ingress/public", "spec.servers[0].tls.credentialName"),
        ("Ingress/shop/admin", "spec.tls[0].secretName"),
    ],
    "PA009": [
        ("ServiceMonitor/monitoring/storefront", "spec.selector"),
        ("ServiceMonitor/shop/checkout", "spec.selector"),
        ("ServiceMonitor/shop/storefront", "spec.endpoints[1].port"),
    ],
    "PA010": [
        ("Ingress/shop/admin", "spec.defaultBackend.service.name"),
        ("Ingress/shop/admin", "spec.rules[0].http.paths[0].backend.service.port.number"),
        ("Ingress/shop/admin", "spec.rules[0].http.paths[1].backend.service.port.name"),
    ],
    "PA011": [
        ("VirtualService/promo/promo", "spec.hosts[1]"),
        ("VirtualService/shop/storefront", "spec.hosts[0]"),
    ],
    "PA012": [("PrometheusRule/shop/storefront", "spec.groups[0].rules[1]")],
    "PA013": [
        ("DestinationRule/checkout/storefront", "spec.host"),
        ("VirtualService/checkout/storefront", "spec.http[0].route[0].destination.host"),
    ],
    "PA101": [
        ("Ingress/tools/grafana", "spec.rules[0].host"),
        ("VirtualService/shop/storefront", "spec.hosts[0]"),
    ],
    "PA102": [
        ("Ingress/tools/grafana", "spec.rules[0].host"),
        ("VirtualService/shop/storefront", "spec.hosts[0]"),
    ],
    "PA103": [
        ("elbv2.LoadBalancer/external/portal-external", "spec.security_groups"),
        ("elbv2.LoadBalancer/internal/portal-internal", "spec.security_groups"),
    ],
    "PA104": [
        ("elbv2.LoadBalancer/external/portal-external", "spec"),
        ("elbv2.LoadBalancer/internal/portal-internal", "spec"),
    ],
}


def findings_of(path: Path):
    return analyze(Inventory.from_documents(yaml.safe_load_all(path.read_text())))


def test_every_code_has_both_fixtures_and_expectations():
    assert set(EXPECTED) == set(CODES) == {p.name for p in FIXTURES.iterdir() if p.is_dir()}
    for code in CODES:
        assert (FIXTURES / code / "fail.yaml").is_file() and (FIXTURES / code / "pass.yaml").is_file()


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_the_failing_fixture_yields_exactly_its_findings(code):
    findings = findings_of(FIXTURES / code / "fail.yaml")
    assert [(f.code, f.object, f.path) for f in findings] == [(code, o, p) for o, p in EXPECTED[code]]
    assert all(f.severity == CODES[code].severity and f.message for f in findings)


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_the_passing_fixture_yields_nothing(code):
    assert findings_of(FIXTURES / code / "pass.yaml") == []


def test_the_aws_checks_need_the_aws_resources():
    """Without the AWS resources (manifests alone, as ``-f`` reads them) nothing is served on an ALB."""
    for code in ("PA101", "PA102", "PA103", "PA104"):
        documents = yaml.safe_load_all((FIXTURES / code / "fail.yaml").read_text())
        assert analyze(Inventory.from_documents(d for d in documents if d.get("provider") != "aws")) == []


def test_a_wildcard_certificate_covers_one_label():
    assert acm_covers("*.example.com", "shop.example.com")
    assert acm_covers("Shop.Example.com.", "shop.example.com")
    assert not acm_covers("*.example.com", "grafana.tools.example.com")
    assert not acm_covers("*.example.com", "example.com")


def test_the_record_and_certificate_of_another_alb_do_not_count():
    """Served on two ALBs, a host needs a record and a certificate on each: the second has neither (nor its
    security group and web ACL)."""
    documents = list(yaml.safe_load_all((FIXTURES / "PA101" / "pass.yaml").read_text()))
    copies = [
        yaml.safe_load(yaml.safe_dump(document).replace("portal-external", "portal-second"))
        for document in documents
        if document.get("kind") in ("elbv2.LoadBalancer", "elbv2.Listener", "elbv2.TargetGroup")
        and document["namespace"] == "external"
    ]
    binding = next(d for d in documents if d.get("kind") == "TargetGroupBinding")
    second = yaml.safe_load(yaml.safe_dump(binding).replace("portal-external", "portal-second"))
    second["metadata"]["name"] = "second"
    found = analyze(Inventory.from_documents([*documents, *copies, second]))
    assert sorted({(f.code, f.object) for f in found}) == [
        ("PA101", "Ingress/tools/grafana"),
        ("PA101", "VirtualService/shop/storefront"),
        ("PA102", "Ingress/tools/grafana"),
        ("PA102", "VirtualService/shop/storefront"),
        ("PA103", "elbv2.LoadBalancer/external/portal-second"),
        ("PA104", "elbv2.LoadBalancer/external/portal-second"),
    ]
