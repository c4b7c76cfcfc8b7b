"""The SRE consoles on the internal ALB: every hop from the internal Gateway to the tool's Service is named by the
one before it, Prometheus, Alertmanager and Kiali sit behind OAuth2 Proxy for the SRE group, Grafana signs SREs in
itself with no secret in what the portal renders."""

import dataclasses
from urllib.parse import parse_qs, urlsplit

import pytest

from provisioning import names
from provisioning.analyze.checks import analyze
from provisioning.analyze.model import Inventory, Settings
from provisioning.desired.platform.ingress import nginx_controller_host
from provisioning.spec import INTERNAL

from .samples import PLATFORM, find, one, platform_manifests

BEHIND_OAUTH2_PROXY = ("alertmanager", "kiali", "prometheus")


def route_to_nginx(manifests, host: str) -> dict:
    """The VirtualService on the internal Gateway naming ``host`` exactly, and where it sends it."""
    gateway = one(manifests, "Gateway", names.gateway_name(INTERNAL), PLATFORM.ingress_namespace)
    ref = f"{gateway['metadata']['namespace']}/{gateway['metadata']['name']}"
    (route,) = [
        vs for vs in find(manifests, "VirtualService") if ref in vs["spec"]["gateways"] and host in vs["spec"]["hosts"]
    ]
    (destination,) = [d["destination"] for r in route["spec"]["http"] for d in r["route"]]
    return destination


def ingress_for(manifests, host: str) -> dict:
    (ingress,) = [i for i in find(manifests, "Ingress") if host in [r["host"] for r in i["spec"]["rules"]]]
    return ingress


@pytest.mark.parametrize("tool", names.PLATFORM_UIS)
def test_every_console_request_path_is_complete(tool):
    manifests = platform_manifests()
    host = names.platform_ui_host(tool, PLATFORM.internal_zone)
    # internal Gateway -> VirtualService for the host -> the Nginx controller's Service (the ingress-nginx chart's)
    destination = route_to_nginx(manifests, host)
    assert destination == {"host": nginx_controller_host(), "port": {"number": 443}}
    # -> the tool's Ingress on Nginx's class, served with a certificate of the cluster's CA
    ingress = ingress_for(manifests, host)
    (ingress_class,) = find(manifests, "IngressClass")
    assert ingress["spec"]["ingressClassName"] == ingress_class["metadata"]["name"]
    ns = ingress["metadata"]["namespace"]
    (tls,) = ingress["spec"]["tls"]
    assert host in tls["hosts"]
    (certificate,) = [
        c for c in find(manifests, "Certificate", namespace=ns) if c["spec"]["secretName"] == tls["secretName"]
    ]
    assert host in certificate["spec"]["dnsNames"]
    assert certificate["spec"]["issuerRef"]["name"] == names.CLUSTER_ISSUER
    # -> the tool's Service, in the Ingress's namespace, on the port the backend names
    (rule,) = [r for r in ingress["spec"]["rules"] if r["host"] == host]
    (path,) = rule["http"]["paths"]
    backend = path["backend"]["service"]
    service = one(manifests, "Service", backend["name"], ns)
    assert backend["port"]["number"] in [p["port"] for p in service["spec"]["ports"]]
    assert service["spec"]["selector"], "a Service without a selector reaches no pods"


@pytest.mark.parametrize(
    ("tool", "namespace", "selected", "target"),
    [
        ("prometheus", "monitoring", {"operator.prometheus.io/name": "platform"}, "web"),
        ("alertmanager", "monitoring", {"alertmanager": "platform"}, "web"),
        ("grafana", "monitoring", {"app.kubernetes.io/instance": "grafana"}, 3000),
        ("kiali", "istio-system", {"app.kubernetes.io/instance": "kiali"}, 20001),
    ],
)
def test_console_services_select_the_pods_their_installers_label(tool, namespace, selected, target):
    manifests = platform_manifests()
    service = one(manifests, "Service", f"{tool}-console", namespace)
    assert service["spec"]["selector"].items() >= {names.LABEL_NAME: tool, **selected}.items()
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] == target
    # The Prometheus and Alertmanager selected are the ones the platform renders.
    if tool in ("prometheus", "alertmanager"):
        one(manifests, tool.capitalize(), "platform", namespace)


@pytest.mark.parametrize("tool", BEHIND_OAUTH2_PROXY)
def test_consoles_without_sign_in_admit_the_sre_group_through_oauth2_proxy(tool):
    ingress = ingress_for(platform_manifests(), names.platform_ui_host(tool, PLATFORM.internal_zone))
    annotations = ingress["metadata"]["annotations"]
    auth = urlsplit(annotations["nginx.ingress.kubernetes.io/auth-url"])
    assert auth._replace(query="").geturl() == names.oauth2_proxy_auth_url()
    assert parse_qs(auth.query) == {"allowed_groups": [PLATFORM.sre_group]}
    signin = urlsplit(annotations["nginx.ingress.kubernetes.io/auth-signin"])
    assert (signin.scheme, signin.hostname, signin.path) == (
        "https",
        names.url_host(PLATFORM.oauth2_proxy_url),
        "/oauth2/start",
    )


def test_oauth2_proxys_sign_in_host_is_routed_to_nginx_too():
    manifests = platform_manifests()
    host = names.url_host(PLATFORM.oauth2_proxy_url)
    assert route_to_nginx(manifests, host)["host"] == nginx_controller_host()
    assert ingress_for(manifests, host)["metadata"]["namespace"] == names.OAUTH2_PROXY_NAMESPACE


def test_every_host_the_platform_serves_has_its_ingress_and_exact_route():
    manifests = platform_manifests()
    served = {r["host"] for i in find(manifests, "Ingress") for r in i["spec"]["rules"]}
    assert set(names.platform_hosts(PLATFORM)[INTERNAL]) <= served
    for host in names.platform_hosts(PLATFORM)[INTERNAL]:
        route_to_nginx(manifests, host)


def grafana_settings(platform=PLATFORM) -> dict[str, str]:
    return one(platform_manifests(platform), "ConfigMap", "grafana-sso", platform.monitoring_namespace)["data"]


def test_grafana_signs_sres_in_itself_as_admins_and_refuses_everyone_else():
    manifests = platform_manifests()
    ingress = ingress_for(manifests, names.platform_ui_host("grafana", PLATFORM.internal_zone))
    assert not [k for k in ingress["metadata"].get("annotations", {}) if "auth-" in k], "Grafana signs in itself"
    settings = grafana_settings()
    assert settings["GF_AUTH_GENERIC_OAUTH_ENABLED"] == "true"
    assert settings["GF_AUTH_GENERIC_OAUTH_AUTH_URL"] == f"{PLATFORM.oidc_issuer}/protocol/openid-connect/auth"
    assert settings["GF_AUTH_GENERIC_OAUTH_TOKEN_URL"] == f"{PLATFORM.oidc_issuer}/protocol/openid-connect/token"
    assert settings["GF_AUTH_GENERIC_OAUTH_ALLOWED_GROUPS"] == PLATFORM.sre_group
    assert settings["GF_AUTH_GENERIC_OAUTH_ROLE_ATTRIBUTE_PATH"] == "contains(\"groups\"[*], 'platform-sre') && 'Admin'"
    assert settings["GF_AUTH_GENERIC_OAUTH_ROLE_ATTRIBUTE_STRICT"] == "true"
    assert settings["GF_SERVER_ROOT_URL"] == PLATFORM.grafana_url + "/"


def test_grafanas_client_secret_is_a_reference_to_the_operators_secret_never_a_value():
    config_map = one(platform_manifests(), "ConfigMap", "grafana-sso", PLATFORM.monitoring_namespace)
    secret = config_map["data"]["GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET"]
    assert secret == f"$__file{{{names.GRAFANA_OAUTH_MOUNT}/{names.GRAFANA_OAUTH_SECRET_KEY}}}"
    assert config_map["metadata"]["annotations"]["portal.io/credentials-secret"] == names.GRAFANA_OAUTH_CREDENTIALS


def test_grafana_takes_the_idps_endpoints_from_the_settings_when_given():
    platform = dataclasses.replace(
        PLATFORM,
        oidc_authorization_url="https://idp.example.com/authorize",
        oidc_token_url="https://idp.example.com/oauth/token",
        oidc_userinfo_url="https://idp.example.com/userinfo",
    )
    settings = grafana_settings(platform)
    assert settings["GF_AUTH_GENERIC_OAUTH_AUTH_URL"] == "https://idp.example.com/authorize"
    assert settings["GF_AUTH_GENERIC_OAUTH_API_URL"] == "https://idp.example.com/userinfo"
    off = grafana_settings(dataclasses.replace(PLATFORM, oidc_issuer=""))
    assert off["GF_AUTH_GENERIC_OAUTH_ENABLED"] == "false" and "GF_AUTH_DISABLE_LOGIN_FORM" not in off


def test_analyze_leaves_only_the_chart_owned_services_outside_the_set():
    """Nginx's controller Service and OAuth2 Proxy's are their charts', the kubelets' the Prometheus operator's;
    every other reference is rendered (the cluster's alerts reach the SRE team's AlertmanagerConfig)."""
    findings = analyze(
        Inventory.from_manifests(platform_manifests()), Settings(root_namespace=PLATFORM.istio_root_namespace)
    )
    assert {(f.code, f.object) for f in findings} == {
        ("PA004", "DestinationRule/istio-ingress/internal-tools-via-nginx"),
        ("PA004", "VirtualService/istio-ingress/internal-tools-via-nginx"),
        ("PA010", "Ingress/oauth2-proxy/oauth2-proxy"),
        ("PA009", "ServiceMonitor/monitoring/kubelet"),
    }
