"""Each code has a failing and a passing fixture (``fixtures/<code>/{fail,pass}.yaml``): the failing one yields
exactly the findings listed here and no other code, the passing one (the same set, wired) yields nothing."""

from pathlib import Path

import pytest

from provisioning.analyze import CODES, analyze, load_manifests
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
}


def findings_of(path: Path):
    return analyze(Inventory(tuple(load_manifests([str(path)]).objects)))


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
