"""Preflight schema validation: what the portal generates passes, and each kind of mistake is named precisely."""

import copy
import textwrap
from typing import Any

import pytest

from provisioning.preflight import VENDORED_CRD_DIR, PreflightError, SchemaValidator, Violation, load_crds

CRD_DIR = VENDORED_CRD_DIR
NS = "payments-api"
HOST = "payments-api.payments-api.svc.cluster.local"
LABELS = {
    "app.kubernetes.io/name": "payments-api",
    "app.kubernetes.io/part-of": "payments",
    "app.kubernetes.io/managed-by": "platform-portal",
    "portal.io/team": "payments",
    "portal.io/service": "payments-api",
}


@pytest.fixture(scope="module")
def validator() -> SchemaValidator:
    return SchemaValidator.from_crd_dir(CRD_DIR)


def obj(api_version: str, kind: str, name: str = "payments-api", namespace: str | None = NS, **body: Any) -> dict:
    metadata: dict[str, Any] = {"name": name, "labels": dict(LABELS)}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **body}


def destination_rule(load_balancer: dict[str, Any]) -> dict:
    return obj(
        "networking.istio.io/v1",
        "DestinationRule",
        spec={
            "host": HOST,
            "trafficPolicy": {
                "loadBalancer": load_balancer,
                "connectionPool": {
                    "tcp": {"maxConnections": 100, "connectTimeout": "3s"},
                    "http": {"http1MaxPendingRequests": 10, "http2MaxRequests": 1000, "maxRetries": 3},
                },
                "outlierDetection": {
                    "consecutive5xxErrors": 5,
                    "interval": "10s",
                    "baseEjectionTime": "30s",
                    "maxEjectionPercent": 50,
                },
                "tls": {"mode": "ISTIO_MUTUAL"},
            },
            "subsets": [
                {"name": "stable", "labels": {"version": "v1"}},
                {
                    "name": "canary",
                    "labels": {"version": "v2"},
                    "trafficPolicy": {"loadBalancer": {"simple": "ROUND_ROBIN"}},
                },
            ],
        },
    )


VALID = {
    "namespace": obj(
        "v1", "Namespace", namespace=None, metadata={"name": NS, "labels": {**LABELS, "istio-injection": "enabled"}}
    ),
    "service-account": obj(
        "v1",
        "ServiceAccount",
        metadata={
            "name": NS,
            "namespace": NS,
            "labels": LABELS,
            "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/payments-api"},
        },
    ),
    "service": obj(
        "v1",
        "Service",
        spec={
            "type": "ClusterIP",
            "selector": {"app.kubernetes.io/name": "payments-api"},
            "ports": [
                {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP", "appProtocol": "http"},
                {"name": "http-metrics", "port": 9090, "targetPort": "metrics", "appProtocol": "http"},
            ],
        },
    ),
    "ingress": obj(
        "networking.k8s.io/v1",
        "Ingress",
        metadata={
            "name": NS,
            "namespace": NS,
            "labels": LABELS,
            "annotations": {
                "nginx.ingress.kubernetes.io/auth-url": "http://oauth2-proxy.oauth2-proxy.svc.cluster.local/oauth2/auth",
                "nginx.ingress.kubernetes.io/auth-signin": "https://auth.internal.example.com/oauth2/start?rd=$escaped_request_uri",
                "nginx.ingress.kubernetes.io/proxy-read-timeout": "30",
            },
        },
        spec={
            "ingressClassName": "nginx",
            "tls": [{"hosts": ["grafana.internal.example.com"], "secretName": "grafana-tls"}],
            "rules": [
                {
                    "host": "grafana.internal.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": NS, "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ],
        },
    ),
    "config-map": obj("v1", "ConfigMap", data={"LOG_LEVEL": "info", "config.yaml": "retries: 3\n"}),
    "secret": obj(
        "v1",
        "Secret",
        type="Opaque",
        data={"webhook-url": "aHR0cHM6Ly9ob29rcy5leGFtcGxlLmNvbS94"},
        stringData={"channel": "#payments-alerts"},
    ),
    "deployment": obj(
        "apps/v1",
        "Deployment",
        spec={
            "replicas": 2,
            "selector": {"matchLabels": {"app.kubernetes.io/name": "payments-api"}},
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "payments-api", "version": "v1"}},
                "spec": {
                    "serviceAccountName": NS,
                    "containers": [
                        {
                            "name": "app",
                            "image": "registry.example.com/payments-api:1.4.2",
                            "ports": [{"name": "http", "containerPort": 8080}],
                            "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}},
                        }
                    ],
                },
            },
        },
    ),
    "role-binding": obj(
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        name="payments:view",
        roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        subjects=[{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "payments"}],
    ),
    "destination-rule-least-request": destination_rule({"simple": "LEAST_REQUEST"}),
    "destination-rule-hash-header": destination_rule({"consistentHash": {"httpHeaderName": "x-user-id"}}),
    "destination-rule-hash-cookie": destination_rule(
        {"consistentHash": {"httpCookie": {"name": "session", "ttl": "3600s", "path": "/"}}}
    ),
    "destination-rule-hash-source-ip": destination_rule({"consistentHash": {"useSourceIp": True}}),
    "virtual-service-http": obj(
        "networking.istio.io/v1",
        "VirtualService",
        spec={
            "hosts": ["pay.example.com", HOST],
            "gateways": ["istio-ingress/external-gateway", "mesh"],
            "http": [
                {
                    "name": "mobile",
                    "match": [{"headers": {"user-agent": {"regex": ".*Mobile.*"}}, "uri": {"prefix": "/api"}}],
                    "route": [
                        {"destination": {"host": "payments-sp.payments-sp.svc.cluster.local", "port": {"number": 80}}}
                    ],
                },
                {
                    "name": "beta",
                    "match": [{"headers": {"x-beta": {"exact": "true"}}}, {"authority": {"prefix": "beta."}}],
                    "route": [{"destination": {"host": HOST, "subset": "canary"}}],
                },
                {
                    "name": "default",
                    "route": [
                        {"destination": {"host": HOST, "subset": "stable", "port": {"number": 80}}, "weight": 90},
                        {"destination": {"host": HOST, "subset": "canary", "port": {"number": 80}}, "weight": 10},
                    ],
                    "timeout": "2.500s",
                    "retries": {"attempts": 3, "perTryTimeout": "0.750s", "retryOn": "5xx,reset"},
                },
            ],
        },
    ),
    "virtual-service-tcp": obj(
        "networking.istio.io/v1",
        "VirtualService",
        spec={
            "hosts": [HOST],
            "tcp": [{"match": [{"port": 5432}], "route": [{"destination": {"host": HOST, "port": {"number": 5432}}}]}],
        },
    ),
    "gateway": obj(
        "networking.istio.io/v1",
        "Gateway",
        name="external-gateway",
        namespace="istio-ingress",
        spec={
            "selector": {"istio": "ingressgateway"},
            "servers": [
                {
                    "port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                    "hosts": ["payments-api/pay.example.com"],
                    "tls": {"mode": "SIMPLE", "credentialName": "pay-example-com-tls"},
                },
                {
                    "port": {"number": 80, "name": "http", "protocol": "HTTP"},
                    "hosts": ["payments-api/pay.example.com"],
                    "tls": {"httpsRedirect": True},
                },
            ],
        },
    ),
    "peer-authentication": obj(
        "security.istio.io/v1",
        "PeerAuthentication",
        spec={"selector": {"matchLabels": {"app.kubernetes.io/name": "payments-api"}}, "mtls": {"mode": "STRICT"}},
    ),
    "authorization-policy": obj(
        "security.istio.io/v1",
        "AuthorizationPolicy",
        spec={
            "selector": {"matchLabels": {"app.kubernetes.io/name": "payments-api"}},
            "action": "ALLOW",
            "rules": [
                {
                    "from": [{"source": {"principals": ["cluster.local/ns/checkout/sa/checkout"]}}],
                    "to": [{"operation": {"methods": ["GET", "POST"], "paths": ["/api/*"]}}],
                }
            ],
        },
    ),
    "telemetry": obj(
        "telemetry.istio.io/v1",
        "Telemetry",
        spec={
            "selector": {"matchLabels": {"app.kubernetes.io/name": "payments-api"}},
            "accessLogging": [{"providers": [{"name": "envoy"}], "disabled": False}],
            "tracing": [{"providers": [{"name": "otel"}], "randomSamplingPercentage": 12.5}],
            "metrics": [
                {
                    "providers": [{"name": "prometheus"}],
                    "overrides": [
                        {
                            "match": {"metric": "REQUEST_COUNT", "mode": "CLIENT_AND_SERVER"},
                            "tagOverrides": {"request_host": {"operation": "REMOVE"}},
                        }
                    ],
                }
            ],
        },
    ),
    "service-monitor": obj(
        "monitoring.coreos.com/v1",
        "ServiceMonitor",
        spec={
            "selector": {"matchLabels": {"app.kubernetes.io/name": "payments-api"}},
            "namespaceSelector": {"matchNames": [NS]},
            "endpoints": [
                {
                    "port": "http-metrics",
                    "path": "/metrics",
                    "interval": "30s",
                    "scheme": "http",
                    "relabelings": [
                        {"action": "replace", "sourceLabels": ["__meta_kubernetes_namespace"], "targetLabel": "ns"}
                    ],
                }
            ],
        },
    ),
    "prometheus-rule": obj(
        "monitoring.coreos.com/v1",
        "PrometheusRule",
        spec={
            "groups": [
                {
                    "name": "payments-api.slo",
                    "interval": "30s",
                    "rules": [
                        {
                            "record": "service:request_errors:ratio_rate5m",
                            "expr": 'sum(rate(istio_requests_total{response_code=~"5.."}[5m]))'
                            " / sum(rate(istio_requests_total[5m]))",
                            "labels": {"service": "payments-api"},
                        },
                        {
                            "alert": "PaymentsApiErrorBudgetBurn",
                            "expr": "service:request_errors:ratio_rate5m > 14.4 * 0.001",
                            "for": "5m",
                            "labels": {"severity": "critical", "team": "payments"},
                            "annotations": {"summary": "payments-api is burning its error budget"},
                        },
                    ],
                }
            ]
        },
    ),
    "alertmanager-config": obj(
        "monitoring.coreos.com/v1alpha1",
        "AlertmanagerConfig",
        spec={
            "route": {
                "receiver": "payments-slack",
                "groupBy": ["alertname", "service"],
                "groupWait": "30s",
                "groupInterval": "5m",
                "repeatInterval": "4h",
                "matchers": [{"name": "team", "value": "payments", "matchType": "="}],
                "routes": [{"receiver": "payments-incident", "matchers": [{"name": "severity", "value": "critical"}]}],
            },
            "receivers": [
                {
                    "name": "payments-slack",
                    "slackConfigs": [
                        {
                            "apiURL": {"name": "payments-alerting", "key": "slack-webhook-url"},
                            "channel": "#payments-alerts",
                            "sendResolved": True,
                        }
                    ],
                },
                {
                    "name": "payments-incident",
                    "webhookConfigs": [
                        {
                            "urlSecret": {"name": "payments-alerting", "key": "incident-webhook-url"},
                            "sendResolved": True,
                        }
                    ],
                },
            ],
        },
    ),
    "prometheus": obj(
        "monitoring.coreos.com/v1",
        "Prometheus",
        name="platform",
        namespace="monitoring",
        spec={
            "replicas": 2,
            "serviceAccountName": "prometheus",
            "serviceMonitorSelector": {"matchLabels": {"app.kubernetes.io/managed-by": "platform-portal"}},
            "serviceMonitorNamespaceSelector": {},
            "ruleSelector": {"matchLabels": {"app.kubernetes.io/managed-by": "platform-portal"}},
            "retention": "15d",
            "resources": {"requests": {"cpu": "500m", "memory": "2Gi"}},
            "externalLabels": {"cluster": "eks-prod"},
            "alerting": {
                "alertmanagers": [{"namespace": "monitoring", "name": "alertmanager-operated", "port": "web"}]
            },
        },
    ),
    "alertmanager": obj(
        "monitoring.coreos.com/v1",
        "Alertmanager",
        name="platform",
        namespace="monitoring",
        spec={
            "replicas": 3,
            "retention": "120h",
            "alertmanagerConfigSelector": {"matchLabels": {"app.kubernetes.io/managed-by": "platform-portal"}},
            "alertmanagerConfigNamespaceSelector": {},
            "alertmanagerConfigMatcherStrategy": {"type": "OnNamespace"},
        },
    ),
    "certificate": obj(
        "cert-manager.io/v1",
        "Certificate",
        name="pay-example-com",
        namespace="istio-ingress",
        spec={
            "secretName": "pay-example-com-tls",
            "dnsNames": ["pay.example.com"],
            "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer", "group": "cert-manager.io"},
            "duration": "2160h",
            "renewBefore": "360h",
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        },
    ),
    "target-group-binding": obj(
        "elbv2.k8s.aws/v1beta1",
        "TargetGroupBinding",
        spec={
            "serviceRef": {"name": "payments-api", "port": 80},
            "targetGroupARN": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/payments-api/0123",
            "targetType": "ip",
            "networking": {
                "ingress": [
                    {"from": [{"securityGroup": {"groupID": "sg-0123456789abcdef0"}}], "ports": [{"port": 8080}]}
                ]
            },
        },
    ),
}


@pytest.mark.parametrize("manifest", VALID.values(), ids=VALID.keys())
def test_generated_kinds_pass(validator, manifest):
    assert validator.validate(manifest) == []


def parent_of(manifest: dict, path: str | tuple[str | int, ...]) -> tuple[Any, str | int]:
    """The container holding the field at ``path`` (dotted, digits index lists; a tuple when keys have dots)."""
    parts = [int(p) if p.isdigit() else p for p in path.split(".")] if isinstance(path, str) else list(path)
    *parents, last = parts
    for part in parents:
        manifest = manifest[part]
    return manifest, last


def with_change(name: str, path: str | tuple[str | int, ...], value: Any) -> dict:
    """A copy of VALID[name] with the field at ``path`` set to ``value``."""
    manifest = copy.deepcopy(VALID[name])
    parent, key = parent_of(manifest, path)
    parent[key] = value
    return manifest


def renamed(name: str, path: str, new_key: str) -> dict:
    """A copy of VALID[name] with the field at ``path`` renamed to ``new_key``."""
    manifest = copy.deepcopy(VALID[name])
    parent, key = parent_of(manifest, path)
    parent[new_key] = parent.pop(key)
    return manifest


LEAST_REQUEST = "destination-rule-least-request"
INVALID = {
    "misspelled-crd-field": (
        renamed(LEAST_REQUEST, "spec.trafficPolicy.loadBalancer", "loadBalancr"),
        "DestinationRule payments-api/payments-api: spec.trafficPolicy.loadBalancr: "
        "unknown field (did you mean 'loadBalancer'?)",
    ),
    "misspelled-top-level-field": (
        renamed(LEAST_REQUEST, "spec", "specs"),
        "DestinationRule payments-api/payments-api: specs: unknown field (did you mean 'spec'?)",
    ),
    "wrong-enum": (
        with_change(LEAST_REQUEST, "spec.trafficPolicy.loadBalancer.simple", "LEAST_REQ"),
        "DestinationRule payments-api/payments-api: spec.trafficPolicy.loadBalancer.simple: 'LEAST_REQ' is not one "
        "of ['UNSPECIFIED', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH', 'ROUND_ROBIN', 'LEAST_REQUEST']",
    ),
    "mutually-exclusive-oneof": (
        with_change(
            LEAST_REQUEST,
            "spec.trafficPolicy.loadBalancer",
            {"simple": "RANDOM", "consistentHash": {"useSourceIp": True}},
        ),
        "DestinationRule payments-api/payments-api: spec.trafficPolicy.loadBalancer: "
        "simple, consistentHash are mutually exclusive; set at most one",
    ),
    "string-match-with-two-kinds": (
        with_change(
            "virtual-service-http", "spec.http.0.match.0.headers", {"user-agent": {"exact": "a", "regex": "b"}}
        ),
        "VirtualService payments-api/payments-api: spec.http[0].match[0].headers.user-agent: "
        "exact, regex are mutually exclusive; set at most one",
    ),
    "int-or-string-given-a-list": (
        with_change("target-group-binding", "spec.serviceRef.port", [80]),
        "TargetGroupBinding payments-api/payments-api: spec.serviceRef.port: expected integer or string, got array",
    ),
    "crd-wrong-type": (
        with_change("virtual-service-http", "spec.http.2.retries.attempts", "3"),
        "VirtualService payments-api/payments-api: spec.http[2].retries.attempts: expected integer, got string",
    ),
    "crd-metadata-unknown-field": (
        renamed("peer-authentication", "metadata.labels", "label"),
        "PeerAuthentication payments-api/payments-api: metadata.label: unknown field (did you mean 'labels'?)",
    ),
    "unknown-core-field": (
        renamed("service", "spec.ports", "portz"),
        "Service payments-api/payments-api: spec.portz: unknown field (did you mean 'ports'?)",
    ),
    "core-int-or-string-given-a-list": (
        with_change("service", "spec.ports.0.targetPort", [8080]),
        "Service payments-api/payments-api: spec.ports[0].targetPort: expected string, integer or null, got array",
    ),
    "core-missing-required-field": (
        with_change("service", "spec.ports", [{"name": "http", "targetPort": 8080}]),
        "Service payments-api/payments-api: spec.ports[0]: 'port' is a required property",
    ),
    "core-duplicate-map-list-key": (
        with_change(
            "deployment",
            "spec.template.spec.containers",
            [{"name": "app", "image": "a:1"}, {"name": "app", "image": "b:1"}],
        ),
        "Deployment payments-api/payments-api: spec.template.spec.containers[1]: "
        "duplicate entry (name='app'), first at [0]",
    ),
    "secret-data-not-base64": (
        with_change("secret", ("data", "webhook-url"), "https://hooks.example.com/x"),
        "Secret payments-api/payments-api: data.webhook-url: 'https://hooks.example.com/x' is not a valid byte value",
    ),
    "label-value-not-a-string": (
        with_change("service", ("metadata", "labels", "portal.io/team"), 1),
        'Service payments-api/payments-api: metadata.labels["portal.io/team"]: value must be a string, got integer',
    ),
    "label-value-not-a-string-on-crd": (
        with_change("telemetry", ("metadata", "labels", "portal.io/team"), True),
        'Telemetry payments-api/payments-api: metadata.labels["portal.io/team"]: value must be a string, got boolean',
    ),
    "label-value-syntax": (
        with_change("config-map", ("metadata", "labels", "portal.io/team"), "payments team"),
        'ConfigMap payments-api/payments-api: metadata.labels["portal.io/team"]: '
        "'payments team' is not a valid label value (at most 63 alphanumerics, '-', '_' or '.')",
    ),
    "label-key-syntax": (
        with_change("config-map", ("metadata", "labels", "Portal.IO/team"), "payments"),
        'ConfigMap payments-api/payments-api: metadata.labels["Portal.IO/team"]: '
        "key prefix must be a DNS-1123 subdomain",
    ),
    "annotation-value-not-a-string": (
        with_change("ingress", ("metadata", "annotations", "nginx.ingress.kubernetes.io/proxy-read-timeout"), 30),
        'Ingress payments-api/payments-api: metadata.annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]: '
        "value must be a string, got integer",
    ),
    "service-name-not-a-dns-label": (
        with_change("service", "metadata.name", "payments.api"),
        "Service payments-api/payments.api: metadata.name: "
        "'payments.api' must be a DNS-1035 label (lowercase alphanumerics and '-', starting with a letter, at most 63)",
    ),
    "crd-name-not-a-dns-subdomain": (
        with_change("certificate", "metadata.name", "Pay_Example"),
        "Certificate istio-ingress/Pay_Example: metadata.name: "
        "'Pay_Example' must be a DNS-1123 subdomain (lowercase alphanumerics, '-' and '.', at most 253)",
    ),
    "missing-name": (
        with_change("config-map", "metadata", {"namespace": NS}),
        "ConfigMap payments-api/<unnamed>: metadata.name: is required",
    ),
    "unknown-core-kind": (
        with_change("service", "kind", "Servise"),
        "Servise payments-api/payments-api: Kubernetes 1.33.0 has no kind Servise in v1",
    ),
    "unserved-crd-version": (
        with_change("gateway", "apiVersion", "networking.istio.io/v2"),
        "Gateway istio-ingress/external-gateway: the Gateway CRD serves v1, v1alpha3, v1beta1 of "
        "networking.istio.io, not v2",
    ),
    "unknown-crd-kind": (
        obj("example.com/v1", "Widget", spec={}),
        "Widget payments-api/payments-api: no schema for kind Widget in group example.com; "
        "install its CRD or set PORTAL_CRD_DIR",
    ),
}


@pytest.mark.parametrize(("manifest", "expected"), INVALID.values(), ids=INVALID.keys())
def test_mistakes_are_named_by_object_and_field(validator, manifest, expected):
    assert [str(v) for v in validator.validate(manifest)] == [expected]


def test_custom_resources_need_their_crd():
    bare = SchemaValidator()
    assert bare.validate(VALID["service"]) == []
    assert [str(v) for v in bare.validate(VALID["peer-authentication"])] == [
        "PeerAuthentication payments-api/payments-api: no schema for kind PeerAuthentication in group "
        "security.istio.io; install its CRD or set PORTAL_CRD_DIR"
    ]


def test_validate_all_collects_every_object_and_check_raises():
    validator = SchemaValidator.from_crd_dir(CRD_DIR)
    broken_service = INVALID["unknown-core-field"][0]
    broken_rule = INVALID["wrong-enum"][0]
    manifests = [VALID["namespace"], broken_service, VALID["telemetry"], broken_rule]

    violations = validator.validate_all(manifests)

    assert [(v.obj, v.path) for v in violations] == [
        ("Service payments-api/payments-api", "spec.portz"),
        ("DestinationRule payments-api/payments-api", "spec.trafficPolicy.loadBalancer.simple"),
    ]
    with pytest.raises(PreflightError) as raised:
        validator.check(manifests)
    assert raised.value.violations == violations
    validator.check(VALID.values())


def test_not_a_manifest():
    assert SchemaValidator().validate({"metadata": {"name": "x"}}) == [
        Violation("object x", "", "apiVersion and kind must be non-empty strings")
    ]


def test_kubernetes_version_is_selectable():
    assert SchemaValidator(kubernetes_version="v1.30").kubernetes_version == "1.30.0"
    # flowcontrol v1beta3 was removed in 1.32: valid against 1.30, an unknown kind against 1.33.
    schema = obj(
        "flowcontrol.apiserver.k8s.io/v1beta3",
        "FlowSchema",
        name="portal",
        namespace=None,
        spec={"priorityLevelConfiguration": {"name": "workload-low"}},
    )
    assert SchemaValidator(kubernetes_version="1.30").validate(schema) == []
    assert [str(v) for v in SchemaValidator(kubernetes_version="1.33").validate(schema)] == [
        "FlowSchema portal: Kubernetes 1.33.0 has no kind FlowSchema in flowcontrol.apiserver.k8s.io/v1beta3"
    ]
    with pytest.raises(ValueError, match=r"no schemas for Kubernetes 1\.99"):
        SchemaValidator(kubernetes_version="1.99")


def test_from_settings(settings):
    settings.PORTAL_CRD_DIR = str(CRD_DIR)
    assert SchemaValidator.from_settings().validate(VALID["gateway"]) == []

    settings.PORTAL_CRD_DIR = ""
    (missing,) = SchemaValidator.from_settings().validate(VALID["gateway"])
    assert missing.message.endswith("install its CRD or set PORTAL_CRD_DIR")


def test_from_settings_rejects_a_missing_directory(settings, tmp_path):
    settings.PORTAL_CRD_DIR = str(tmp_path / "absent")
    with pytest.raises(NotADirectoryError):
        SchemaValidator.from_settings()


# A small CRD exercising each structural-schema rule, read from a YAML file with two documents.
WIDGET_CRD = textwrap.dedent(
    """\
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata: {name: widgets.example.com}
    spec:
      group: example.com
      scope: Namespaced
      names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
      versions:
        - name: v1
          served: true
          storage: true
          schema:
            openAPIV3Schema:
              type: object
              properties:
                spec:
                  type: object
                  x-kubernetes-validations:
                    - rule: "self.replicas <= 10"
                  properties:
                    replicas: {type: integer, format: int32}
                    port:
                      anyOf: [{type: integer}, {type: string}]
                      x-kubernetes-int-or-string: true
                    owner: {type: string, nullable: true}
                    mode: {type: string, enum: [fast, safe], nullable: true}
                    settings: {type: object, additionalProperties: {type: string}}
                    extra:
                      type: object
                      x-kubernetes-preserve-unknown-fields: true
                      properties:
                        level: {type: integer}
                    zones:
                      type: array
                      items: {type: string}
                      x-kubernetes-list-type: set
                    template:
                      type: object
                      x-kubernetes-embedded-resource: true
                      x-kubernetes-preserve-unknown-fields: true
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: not-a-crd}
    """
)


@pytest.fixture(scope="module")
def widgets(tmp_path_factory) -> SchemaValidator:
    directory = tmp_path_factory.mktemp("crds")
    (directory / "widgets.yaml").write_text(WIDGET_CRD)
    (directory / "README.md").write_text("not a CRD file")
    return SchemaValidator.from_crd_dir(directory)


def widget(**spec: Any) -> dict:
    return obj("example.com/v1", "Widget", name="w", spec=spec)


def test_yaml_crd_files_are_read(tmp_path):
    (tmp_path / "widgets.yaml").write_text(WIDGET_CRD)
    assert [crd["metadata"]["name"] for crd in load_crds(tmp_path)] == ["widgets.example.com"]


def test_structural_rules_accept_what_the_schema_allows(widgets):
    manifest = widget(
        replicas=20,  # breaks only the CEL rule, which is not evaluated
        port="http",
        owner=None,
        mode=None,
        settings={"a": "b"},
        extra={"level": 1, "anything": {"goes": True}},
        zones=["a", "b"],
        template={"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"free": "form"}},
    )
    assert widgets.validate(manifest) == []
    assert widgets.validate(widget(port=8080)) == []


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"replicas": 2**31}, ("spec.replicas", "2147483648 is not a valid int32 value")),
        ({"port": 1.5}, ("spec.port", "expected integer or string, got number")),
        ({"mode": "slow"}, ("spec.mode", "'slow' is not one of ['fast', 'safe', None]")),
        ({"settings": {"a": 1}}, ("spec.settings.a", "expected string, got integer")),
        ({"extra": {"level": "high"}}, ("spec.extra.level", "expected integer, got string")),
        ({"zones": ["a", "a"]}, ("spec.zones[1]", 'duplicate entry ("a"), first at [0]')),
        ({"template": {"kind": "Pod"}}, ("spec.template", "'apiVersion' is a required property")),
        (
            {"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"nam": "p"}}},
            ("spec.template.metadata.nam", "unknown field (did you mean 'name'?)"),
        ),
    ],
)
def test_structural_rules_reject(widgets, spec, expected):
    assert [(v.path, v.message) for v in widgets.validate(widget(**spec))] == [expected]
