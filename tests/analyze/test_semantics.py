"""The upstream rules the checks follow, case by case, beyond the per-code fixtures."""

import textwrap

import pytest
import yaml

from provisioning.analyze import Inventory, Settings, analyze
from provisioning.analyze.hosts import overlaps, service_name

GATEWAY = """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: public, namespace: istio-ingress}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: %s
"""
STOREFRONT = """
apiVersion: v1
kind: Service
metadata: {name: storefront, namespace: shop, labels: {app: storefront}}
spec:
  selector: {app: storefront, tier: web}
  ports: [{name: http, port: 8080}]
"""
ROUTE = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: storefront, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [istio-ingress/public]
  http:
  - route:
    - destination: {host: storefront}
"""


def codes(*documents: str, settings: Settings | None = None) -> list[tuple[str, str, str]]:
    objects = [d for text in documents for d in yaml.safe_load_all(textwrap.dedent(text)) if d]
    return [(f.code, f.object, f.path) for f in analyze(Inventory.from_manifests(objects), settings)]


def policy(namespace: str, spec: str, name: str = "policy") -> str:
    return f"""
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: {name}, namespace: {namespace}}}
spec: {spec}
"""


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("*", "a.example.com", True),
        ("*.example.com", "a.b.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.b.example.com", "*.example.com", True),
        ("a.example.com", "b.example.com", False),
    ],
)
def test_host_overlap_is_istios(first, second, expected):
    assert overlaps(first, second) is expected and overlaps(second, first) is expected


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("reviews", ("reviews", "shop", True)),
        ("Reviews.Bookinfo.svc.cluster.local.", ("reviews", "bookinfo", True)),
        ("reviews.bookinfo", ("reviews", "bookinfo", False)),
        ("reviews.bookinfo.svc", ("reviews", "bookinfo", False)),
        ("api.example.co.jp", None),
        ("*.bookinfo.svc.cluster.local", None),
    ],
)
def test_a_host_names_a_service_as_kubernetes_dns_does(host, expected):
    name = service_name(host, "shop", "cluster.local")
    assert (name and (name.name, name.namespace, name.expanded)) == expected


@pytest.mark.parametrize(
    ("hosts", "found"),
    [
        ('["./shop.example.com"]', ["PA002"]),  # `.`: only VirtualServices of the Gateway's own namespace
        ('["istio-ingress/*"]', ["PA002"]),
        ('["shop/*"]', []),
        ('["~/*", "*/shop.example.com"]', []),
        ('["*/*.com"]', []),
    ],
)
def test_gateway_server_hosts_restrict_namespaces(hosts, found):
    assert [c for c, *_ in codes(GATEWAY % hosts, STOREFRONT, ROUTE)] == found


def test_gateways_default_to_mesh_and_a_route_match_may_name_one():
    route = """
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata: {name: storefront, namespace: shop}
    spec:
      hosts: [storefront]
      http:
      - match: [{gateways: [mesh]}, {gateways: [internal]}]
        route:
        - destination: {host: storefront}
    """
    assert codes(STOREFRONT, route) == [
        ("PA001", "VirtualService/shop/storefront", "spec.http[0].match[1].gateways[0]")
    ]


@pytest.mark.parametrize(
    ("spec", "denied"),
    [
        ("{action: ALLOW, rules: [{}]}", False),  # an empty rule matches every request
        ("{rules: [{to: [{operation: {paths: [/admin]}}]}]}", False),  # no `from`: any caller (`to` not weighed)
        ("{rules: [{from: [{source: {namespaces: [istio-*]}}]}]}", False),
        ("{rules: [{from: [{source: {namespaces: ['*'], notNamespaces: [istio-ingress]}}]}]}", True),
        ("{rules: [{from: [{source: {principals: ['*/ns/istio-ingress/sa/istio-ingressgateway']}}]}]}", False),
        ("{rules: [{from: [{source: {principals: [cluster.local/ns/istio-ingress-canary/sa/gw]}}]}]}", True),
        (
            "{rules: [{from: [{source: {principals: ['*'], notPrincipals: ['cluster.local/ns/istio-ingress/*']}}]}]}",
            True,
        ),
        ("{rules: [{from: [{source: {serviceAccounts: [istio-ingress/gateway]}}]}]}", False),
        ("{rules: [{from: [{source: {requestPrincipals: ['*']}}]}]}", False),  # a JWT may come through the gateway
        ("{action: DENY, rules: [{}]}", False),  # only ALLOW policies are weighed
        ("{selector: {matchLabels: {app: storefront}}}", True),  # selects the Service's pods: denies all
        ("{selector: {matchLabels: {app: storefront, track: canary}}}", False),  # may select some pods only
        ("{targetRefs: [{kind: Service, name: storefront}]}", False),
    ],
)
def test_authorization_policies_admit_the_gateway_as_istio_evaluates_them(spec, denied):
    found = codes(GATEWAY % '["*"]', STOREFRONT, ROUTE, policy("shop", spec))
    assert found == (
        [("PA005", "VirtualService/shop/storefront", "spec.http[0].route[0].destination.host")] if denied else []
    )


def test_the_root_namespace_is_a_setting():
    deny_all = policy("mesh-root", "{}")
    assert codes(GATEWAY % '["*"]', STOREFRONT, ROUTE, deny_all) == []
    assert [
        c
        for c, *_ in codes(
            GATEWAY % '["*"]', STOREFRONT, ROUTE, deny_all, settings=Settings(root_namespace="mesh-root")
        )
    ] == ["PA005"]


def peer(namespace: str, mode: str, selector: str = "") -> str:
    return f"""
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {{name: p-{namespace}-{mode.lower()}{selector and "-w"}, namespace: {namespace}}}
spec: {{mtls: {{mode: {mode}}}{selector}}}
"""


PLAINTEXT = """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: storefront, namespace: shop}
spec:
  host: "%s"
  trafficPolicy: {tls: {mode: DISABLE}}
"""


@pytest.mark.parametrize(
    ("policies", "found"),
    [
        ([peer("shop", "STRICT")], True),
        ([peer("istio-system", "STRICT"), peer("shop", "UNSET")], True),  # UNSET inherits the mesh-wide mode
        ([peer("istio-system", "STRICT"), peer("shop", "PERMISSIVE")], False),
        ([peer("istio-system", "PERMISSIVE")], False),
        ([], False),  # no PeerAuthentication: PERMISSIVE
        ([peer("shop", "STRICT"), peer("shop", "PERMISSIVE", ", selector: {matchLabels: {app: storefront}}")], False),
        ([peer("shop", "STRICT"), peer("shop", "PERMISSIVE", ", selector: {matchLabels: {app: batch}}")], True),
    ],
)
def test_plain_text_is_an_error_only_where_mtls_is_surely_strict(policies, found):
    result = codes(STOREFRONT, PLAINTEXT % "storefront", *policies)
    assert result == ([("PA006", "DestinationRule/shop/storefront", "spec.trafficPolicy.tls.mode")] if found else [])


def test_a_wildcard_destination_rule_reaches_every_service_it_covers():
    assert [c for c, *_ in codes(STOREFRONT, PLAINTEXT % "*.svc.cluster.local", peer("shop", "STRICT"))] == ["PA006"]
    assert codes(STOREFRONT, PLAINTEXT % "*.other.svc.cluster.local", peer("shop", "STRICT")) == []


ALERT = """
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: storefront, namespace: shop}
spec:
  groups:
  - name: storefront
    rules:
    - alert: StorefrontDown
      expr: up == 0
      labels: %s
"""
ROUTING = """
apiVersion: monitoring.coreos.com/v1alpha1
kind: AlertmanagerConfig
metadata: {name: shop, namespace: %s}
spec:
  route:
    receiver: team
    matchers: %s
  receivers: [{name: team}]
"""
MANAGER = """
apiVersion: monitoring.coreos.com/v1
kind: Alertmanager
metadata: {name: main, namespace: monitoring}
spec:
  alertmanagerConfigMatcherStrategy: {type: %s}
"""


@pytest.mark.parametrize(
    ("labels", "matchers", "routed"),
    [
        ("{severity: critical}", "[{name: severity, value: crit, matchType: '=~'}]", False),  # anchored
        ("{severity: critical}", "[{name: severity, value: 'crit.*', regex: true}]", True),
        ("{severity: critical}", "[{name: team, value: ''}]", True),  # a missing label is the empty string
        ("{severity: critical}", "[{name: team, value: shop, matchType: '!='}]", True),
        ("{team: '{{ $labels.team }}'}", "[{name: team, value: shop}]", True),  # templated: unknown
        ("{namespace: other}", "[]", False),  # the operator confines the route to its namespace
    ],
)
def test_alert_routes_match_as_alertmanager_does(labels, matchers, routed):
    assert bool(codes(ALERT % labels, ROUTING % ("shop", matchers))) is not routed


def test_alerts_are_routed_only_by_configs_of_their_namespace_unless_the_strategy_is_none():
    elsewhere = ROUTING % ("monitoring", "[]")
    assert [c for c, *_ in codes(ALERT % "{}", elsewhere)] == ["PA012"]
    assert [c for c, *_ in codes(ALERT % "{namespace: other}", ROUTING % ("shop", "[]"), MANAGER % "OnNamespace")] == [
        "PA012"
    ]
    assert codes(ALERT % "{namespace: other}", ROUTING % ("shop", "[]"), MANAGER % "None") == []


def test_a_mesh_host_claimed_twice_where_both_are_visible_is_a_conflict():
    twice = [
        f"""
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  hosts: [storefront.shop.svc.cluster.local]
  exportTo: {export}
  http: [{{route: [{{destination: {{host: storefront.shop.svc.cluster.local}}}}]}}]
"""
        for name, namespace, export in (("a", "shop", '["*"]'), ("b", "promo", '[".", "shop"]'))
    ]
    assert [(c, o) for c, o, _ in codes(STOREFRONT, *twice)] == [
        ("PA011", "VirtualService/promo/b"),
        ("PA011", "VirtualService/shop/a"),
    ]


def test_an_optional_secret_reference_needs_no_secret_and_a_certificate_secret_has_tls_keys():
    config = """
    apiVersion: monitoring.coreos.com/v1alpha1
    kind: AlertmanagerConfig
    metadata: {name: shop, namespace: shop}
    spec:
      receivers:
      - name: web
        webhookConfigs:
        - urlSecret: {name: hook, key: url, optional: true}
          httpConfig:
            tlsConfig:
              ca: {configMap: {name: ca-bundle, key: ca.crt}}
              cert: {secret: {name: client-tls, key: tls.crt}}
              keySecret: {name: client-tls, key: tls.pem}
    """
    certificate = """
    apiVersion: cert-manager.io/v1
    kind: Certificate
    metadata: {name: client, namespace: shop}
    spec:
      secretName: client-tls
      issuerRef: {name: shop-ca, kind: ClusterIssuer}
      additionalOutputFormats: [{type: CombinedPEM}]
    ---
    apiVersion: cert-manager.io/v1
    kind: ClusterIssuer
    metadata: {name: shop-ca}
    spec: {selfSigned: {}}
    """
    assert codes(config, certificate) == [
        (
            "PA008",
            "AlertmanagerConfig/shop/shop",
            "spec.receivers[0].webhookConfigs[0].httpConfig.tlsConfig.keySecret.key",
        )
    ]


def test_an_external_issuer_is_any_object_of_its_kind():
    certificate = """
    apiVersion: cert-manager.io/v1
    kind: Certificate
    metadata: {name: api, namespace: shop}
    spec:
      secretName: api-tls
      issuerRef: {name: private-ca, kind: AWSPCAClusterIssuer, group: awspca.cert-manager.io}
    """
    issuer = """
    apiVersion: awspca.cert-manager.io/v1beta1
    kind: AWSPCAClusterIssuer
    metadata: {name: private-ca}
    spec: {arn: "arn:aws:acm-pca:ap-northeast-1:000000000000:certificate-authority/x"}
    """
    assert [c for c, *_ in codes(certificate)] == ["PA007"]
    assert codes(certificate, issuer) == []


def test_an_external_two_label_host_is_no_cluster_name():
    """`httpbin.org` reads like `name.namespace`, but no Service answers to it: it is an external host."""
    plaintext = PLAINTEXT % "httpbin.org"
    entry = """
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: httpbin, namespace: shop}
    spec:
      hosts: [httpbin.org]
      ports: [{number: 80, name: http, protocol: HTTP}]
      resolution: DNS
    """
    strict = peer("istio-system", "STRICT")
    assert codes(plaintext, entry, strict) == []
    assert codes(plaintext, strict) == [("PA004", "DestinationRule/shop/storefront", "spec.host")]
    exposed = ROUTE.replace("[shop.example.com]", "[shop.com]").replace(
        "[istio-ingress/public]", "[mesh, istio-ingress/public]"
    )
    assert codes(GATEWAY % '["*.example.com"]', STOREFRONT, exposed) == [
        ("PA002", "VirtualService/shop/storefront", "spec.hosts[0]")
    ]


def test_a_service_kept_to_its_namespace_is_not_a_destination_elsewhere():
    hidden = STOREFRONT.replace("labels: {app: storefront}}", "annotations: {networking.istio.io/exportTo: '.'}}")
    route = """
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata: {name: checkout, namespace: checkout}
    spec:
      hosts: [checkout]
      http: [{route: [{destination: {host: storefront.shop.svc.cluster.local}}]}]
    """
    found = analyze(Inventory.from_manifests([yaml.safe_load(hidden), yaml.safe_load(textwrap.dedent(route))]))
    assert [(f.code, f.message) for f in found] == [
        (
            "PA004",
            "host storefront.shop.svc.cluster.local resolves to no Service or ServiceEntry in the set: "
            "Service/shop/storefront is not exported to namespace checkout",
        )
    ]
