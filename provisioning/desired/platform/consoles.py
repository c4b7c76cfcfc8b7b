"""The SRE consoles (seed §16 "サービスメッシュ外"): Prometheus, Alertmanager, Kiali and Grafana at
``<tool>.<internal zone>`` (``names.platform_ui_host``), on the internal ALB only.

Each request takes one path, every hop named by the one before it:

internal ALB (WAF: corp networks only) -> the internal gateway's NodePort -> the internal Gateway -> the
VirtualService naming the host (``ingress.internal_tools_route``) -> the Nginx Ingress controller's Service -> the
tool's Ingress (class ``nginx``, the host, a certificate of the cluster's CA) -> the tool's console Service -> its
pods.

- Prometheus, Alertmanager and Kiali have no sign-in of their own worth the name: their Ingresses ask OAuth2 Proxy
  about every request (``auth-url``, restricted to the SRE group with ``allowed_groups``) and send people without a
  session to sign in at the portal's IdP (``auth-signin``). Kiali then runs without its own authentication
  (``monitoring.kiali_config``).
- Grafana signs people in itself (``auth.generic_oauth`` at the portal's IdP, SRE group -> Admin, everyone else
  refused), so its Ingress has no OAuth2 Proxy in front. Its settings are environment variables in the ConfigMap
  ``GRAFANA_SSO`` (the Grafana chart's ``envFromConfigMaps``); the client secret is only referenced: Grafana reads
  it from the file of the operators' Secret ``names.GRAFANA_OAUTH_CREDENTIALS`` (the chart's ``extraSecretMounts``
  at ``names.GRAFANA_OAUTH_MOUNT``), never from anything rendered.

The console Services are the platform's own (ClusterIP, port 80), so the path is complete in what the portal
renders and ``analyze`` follows it to the end. They select the pods by labels their installers set:

- Prometheus and Alertmanager: the Prometheus operator's pod labels for the ``Prometheus`` and ``Alertmanager``
  the platform renders (``app.kubernetes.io/name`` and ``operator.prometheus.io/name`` / ``alertmanager``), on
  the operator's container port ``web`` (9090 and 9093). The operator's own ``prometheus-operated`` and
  ``alertmanager-operated`` are headless governing Services of its StatefulSets.
- Grafana: the Grafana chart's selector labels (``app.kubernetes.io/name: grafana``, ``app.kubernetes.io/instance:
  grafana``, release ``grafana``) on Grafana's HTTP port 3000 (its default ``http_port``, the chart's
  ``service.targetPort``).
- Kiali: the kiali-server chart's selector labels (``app.kubernetes.io/name: kiali``, ``app.kubernetes.io/instance:
  kiali``, release ``kiali``) on ``server.port`` of the configuration the platform renders (``KIALI_PORT``).

The Nginx Ingress controller's Service is the ingress-nginx chart's (release ``ingress-nginx``, in
``names.INGRESS_NGINX_NAMESPACE``: ``ingress-nginx-controller``, port 443; install it with ``controller.service.type
=ClusterIP``), and OAuth2 Proxy's the oauth2-proxy chart's (release ``oauth2-proxy``: ``oauth2-proxy``, port 80):
neither is rendered here, since their charts own them.

The consoles' namespaces take no sidecar injection for these pods (Prometheus's sidecar intercepts nothing), so the
plain HTTP from Nginx, itself outside the mesh, reaches them under the mesh-wide STRICT mTLS.
"""

import json
from dataclasses import dataclass
from typing import Any

from provisioning import names
from provisioning.desired.kubernetes import AUTH_SIGNIN_ANNOTATION, AUTH_URL_ANNOTATION, INGRESS_CLASS
from provisioning.spec import PlatformSpec

from .certificates import CERT_MANAGER_API, issuer_ref
from .monitoring import ALERTMANAGER, KIALI_PORT, PROMETHEUS
from .objects import config_map, metadata
from .tools import CREDENTIALS_ANNOTATION

AUTH_RESPONSE_HEADERS_ANNOTATION = "nginx.ingress.kubernetes.io/auth-response-headers"
# Who signed in, for the tools' own logs.
AUTH_RESPONSE_HEADERS = "X-Auth-Request-User,X-Auth-Request-Email"
CONSOLE_PORT = 80
GRAFANA_SSO = "grafana-sso"
GRAFANA_CLIENT_ID = "grafana"
GRAFANA_HTTP_PORT = 3000


@dataclass(frozen=True)
class Console:
    tool: str
    selector: dict[str, str]
    target_port: int | str
    # Behind OAuth2 Proxy (no sign-in of its own), or signing people in itself.
    behind_oauth2_proxy: bool = True


def consoles() -> list[Console]:
    return [
        Console(
            "alertmanager",
            {names.LABEL_NAME: "alertmanager", "alertmanager": ALERTMANAGER},
            "web",
        ),
        Console(
            "grafana",
            {names.LABEL_NAME: "grafana", "app.kubernetes.io/instance": "grafana"},
            GRAFANA_HTTP_PORT,
            behind_oauth2_proxy=False,
        ),
        Console("kiali", {names.LABEL_NAME: "kiali", "app.kubernetes.io/instance": "kiali"}, KIALI_PORT),
        Console(
            "prometheus",
            {names.LABEL_NAME: "prometheus", "operator.prometheus.io/name": PROMETHEUS},
            "web",
        ),
    ]


def console_namespace(platform: PlatformSpec, tool: str) -> str:
    """Kiali lives with istiod; the other consoles with the monitoring stack."""
    return platform.istio_root_namespace if tool == "kiali" else platform.monitoring_namespace


def console_name(tool: str) -> str:
    return f"{tool}-console"


def console_hosts(platform: PlatformSpec, tool: str) -> list[str]:
    """``<tool>.<internal zone>``; Grafana also at its configured address, where Kiali links to it."""
    hosts = {names.platform_ui_host(tool, platform.internal_zone)}
    if tool == "grafana":
        hosts |= {names.url_host(platform.grafana_url)} - {""}
    return sorted(hosts)


def sre_only_annotations(platform: PlatformSpec) -> dict[str, str]:
    """Nginx asks OAuth2 Proxy about every request, admitting members of the SRE group only."""
    proxy = platform.oauth2_proxy_url.rstrip("/")
    return {
        AUTH_URL_ANNOTATION: f"{names.oauth2_proxy_auth_url()}?allowed_groups={platform.sre_group}",
        AUTH_SIGNIN_ANNOTATION: f"{proxy}/oauth2/start?rd=$scheme://$host$escaped_request_uri",
        AUTH_RESPONSE_HEADERS_ANNOTATION: AUTH_RESPONSE_HEADERS,
    }


def console_service(platform: PlatformSpec, console: Console) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(console_name(console.tool), console.tool, console_namespace(platform, console.tool)),
        "spec": {
            "type": "ClusterIP",
            "selector": dict(console.selector),
            "ports": [
                {
                    "name": "http",
                    "port": CONSOLE_PORT,
                    "targetPort": console.target_port,
                    "protocol": "TCP",
                    "appProtocol": "http",
                }
            ],
        },
    }


def console_ingress(platform: PlatformSpec, console: Console) -> list[dict[str, Any]]:
    """The tool's Ingress on Nginx and the certificate Nginx serves it with."""
    name, ns, hosts = (
        console_name(console.tool),
        console_namespace(platform, console.tool),
        console_hosts(platform, console.tool),
    )
    secret = names.tls_secret_name(name)
    backend = {"service": {"name": name, "port": {"number": CONSOLE_PORT}}}
    paths = [{"path": "/", "pathType": "Prefix", "backend": backend}]
    annotations = sre_only_annotations(platform) if console.behind_oauth2_proxy else None
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata(name, console.tool, ns, annotations=annotations),
        "spec": {
            "ingressClassName": INGRESS_CLASS,
            "tls": [{"hosts": hosts, "secretName": secret}],
            "rules": [{"host": host, "http": {"paths": paths}} for host in hosts],
        },
    }
    certificate = {
        "apiVersion": CERT_MANAGER_API,
        "kind": "Certificate",
        "metadata": metadata(secret, console.tool, ns),
        "spec": {"secretName": secret, "dnsNames": hosts, "issuerRef": issuer_ref()},
    }
    return [ingress, certificate]


# --- Grafana's own sign-in ----------------------------------------------------------------------------------------


def idp_endpoints(platform: PlatformSpec) -> tuple[str, str, str]:
    """The IdP's authorization, token and userinfo endpoints: the settings', else Keycloak's layout."""
    base = f"{platform.oidc_issuer.rstrip('/')}/protocol/openid-connect"
    return (
        platform.oidc_authorization_url or f"{base}/auth",
        platform.oidc_token_url or f"{base}/token",
        platform.oidc_userinfo_url or f"{base}/userinfo",
    )


def _jmespath_literal(value: str) -> str:
    """A JMESPath raw string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def grafana_sso_settings(platform: PlatformSpec) -> dict[str, str]:
    """``auth.generic_oauth`` as Grafana's ``GF_*`` variables: SREs become Admins, anyone else is refused."""
    auth_url, token_url, api_url = idp_endpoints(platform)
    # A quoted JMESPath identifier: a claim name may hold characters a bare one may not.
    groups = json.dumps(platform.oidc_groups_claim)
    secret_file = f"{names.GRAFANA_OAUTH_MOUNT}/{names.GRAFANA_OAUTH_SECRET_KEY}"
    enabled = bool(platform.oidc_issuer)
    settings = {
        "GF_SERVER_ROOT_URL": platform.grafana_url.rstrip("/") + "/",
        "GF_AUTH_GENERIC_OAUTH_ENABLED": "true" if enabled else "false",
        "GF_AUTH_GENERIC_OAUTH_NAME": "Single sign-on",
        "GF_AUTH_GENERIC_OAUTH_CLIENT_ID": GRAFANA_CLIENT_ID,
        # A reference Grafana expands when it starts: the value stays in the operators' Secret.
        "GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET": f"$__file{{{secret_file}}}",
        "GF_AUTH_GENERIC_OAUTH_SCOPES": "openid profile email groups",
        "GF_AUTH_GENERIC_OAUTH_AUTH_URL": auth_url,
        "GF_AUTH_GENERIC_OAUTH_TOKEN_URL": token_url,
        "GF_AUTH_GENERIC_OAUTH_API_URL": api_url,
        "GF_AUTH_GENERIC_OAUTH_USE_PKCE": "true",
        "GF_AUTH_GENERIC_OAUTH_LOGIN_ATTRIBUTE_PATH": "preferred_username",
        "GF_AUTH_GENERIC_OAUTH_EMAIL_ATTRIBUTE_PATH": "email",
        "GF_AUTH_GENERIC_OAUTH_GROUPS_ATTRIBUTE_PATH": groups,
        "GF_AUTH_GENERIC_OAUTH_ALLOWED_GROUPS": platform.sre_group,
        "GF_AUTH_GENERIC_OAUTH_ROLE_ATTRIBUTE_PATH": (
            f"contains({groups}[*], {_jmespath_literal(platform.sre_group)}) && 'Admin'"
        ),
        # No role from the path (not an SRE): no sign-in, rather than Grafana's default Viewer.
        "GF_AUTH_GENERIC_OAUTH_ROLE_ATTRIBUTE_STRICT": "true",
        "GF_AUTH_GENERIC_OAUTH_ALLOW_SIGN_UP": "true",
    }
    if enabled:
        settings |= {"GF_AUTH_DISABLE_LOGIN_FORM": "true", "GF_AUTH_OAUTH_AUTO_LOGIN": "true"}
    return settings


def grafana_sso(platform: PlatformSpec) -> dict[str, Any]:
    return config_map(
        GRAFANA_SSO,
        platform.monitoring_namespace,
        "grafana",
        grafana_sso_settings(platform),
        annotations={CREDENTIALS_ANNOTATION: names.GRAFANA_OAUTH_CREDENTIALS},
    )


def build_consoles(platform: PlatformSpec) -> list[dict[str, Any]]:
    manifests: list[dict[str, Any]] = []
    for console in consoles():
        manifests += [console_service(platform, console), *console_ingress(platform, console)]
    return [*manifests, grafana_sso(platform)]
