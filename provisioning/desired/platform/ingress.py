"""The ingress path of each exposure level (seed §15, §16): ALB -> NodePort Service -> Istio ingress gateway -> Gateway.

The platform scope's AWS pieces (``aws.py``) are each level's ALB, its listeners and one target group (instance
targets, HTTPS), planned and applied with the rest of the platform layer. The AWS Load Balancer Controller only
has to keep that target group's members current, which is what a ``TargetGroupBinding`` does: it registers the
nodes on the NodePort of the gateway's Service. An ``Ingress`` with ``alb.ingress.kubernetes.io/*`` annotations
would make the controller create and own a second ALB, listener and target group, competing with the platform's
(and with the ACM certificates and WAF associations attached to them).

The ALB terminates the client's TLS and opens a new TLS connection to the gateway (re-encryption), without SNI:
ALBs never send it to targets. An HTTPS server whose ``hosts`` were ``*.zone`` would make Envoy match the
handshake's SNI against them and reset every connection from the ALB, so the server takes ``*`` (no SNI match).
Which hostnames reach a level is decided before that: by DNS and the WAF of the level's ALB, and by the
VirtualServices that bind to the level's Gateway by name (``names.gateway_ref``), whose hostnames the catalog
keeps inside the level's zone. The gateway's own certificate (``*.zone``, from the cluster's cert-manager
issuer) is never verified by the ALB; it only encrypts the hop.

The ALB's target is a node, so the gateway's TCP peer is a node (or, with kube-proxy's SNAT, another node) and
never the client. The ALB appends the client's address to ``X-Forwarded-For``; the gateways trust exactly that one
hop (``gatewayTopology.numTrustedProxies``), so Envoy's client address is the one the ALB saw.

Each level has its own gateway pods (label ``names.ingress_gateway_selector``) and ServiceAccount, whose SPIFFE
principal the services' AuthorizationPolicies admit (``names.ingress_gateway_principal``).

Tools outside the mesh (``internal`` level, Nginx Ingress with OAuth2 Proxy in front) are reached through the
same internal ALB: a VirtualService on the internal Gateway sends every hostname of the internal zone that no
mesh service claims (Envoy prefers exact hosts over the wildcard) to the Nginx Ingress controller, over TLS.
"""

from typing import Any

from provisioning import names
from provisioning.desired.istio import NETWORKING
from provisioning.spec import EXPOSED_LEVELS, INTERNAL, PlatformSpec

from .certificates import CERT_MANAGER_API, issuer_ref
from .objects import dump_yaml, metadata, namespace, service_account

COMPONENT = "ingress-gateway"

HTTPS_PORT = 443
HTTPS_PORT_NAME = "https"
# The gateway binds an unprivileged port; Istio maps the Gateway's port 443 to it through the Service.
GATEWAY_TARGET_PORT = 8443
# Each level's NodePort, fixed rather than left to the cluster: the ALB reaches the nodes on it (instance targets),
# and the nodes' security group admits the level's ALB on exactly this port (``desired/platform/aws.py``).
GATEWAY_NODE_PORTS = {"external": 30443, "internal": 30444}
GATEWAY_REPLICAS = 2
# Istio's gateway injection: the webhook fills in the proxy's image and configuration.
INJECT_LABEL = "sidecar.istio.io/inject"
INJECT_TEMPLATES_ANNOTATION = "inject.istio.io/templates"
PROXY_CONFIG_ANNOTATION = "proxy.istio.io/config"
# Proxies in front of the gateway that append the client's address to X-Forwarded-For: the ALB alone (the
# NodePort hop is kube-proxy's NAT, no HTTP proxy). Envoy then takes the address the ALB appended (the rightmost
# entry) as the client's, so ``consistentHash.useSourceIp``, the access log's client address and any
# ``remoteIpBlocks`` rule see the client, not a node or the ALB; entries left of it, which a client can forge,
# are never trusted.
TRUSTED_PROXIES = 1
PROXY_UID = 1337
SDS_ROLE = "istio-ingressgateway-sds"

LOAD_BALANCER_API = "elbv2.k8s.aws/v1beta1"

NGINX_CONTROLLER_SERVICE = "ingress-nginx-controller"
NGINX_ROUTE = "internal-tools-via-nginx"


def nginx_controller_host() -> str:
    return f"{NGINX_CONTROLLER_SERVICE}.{names.INGRESS_NGINX_NAMESPACE}.svc.{names.CLUSTER_DOMAIN}"


def gateway_service_account(platform: PlatformSpec, level: str) -> dict[str, Any]:
    """The identity of the level's gateway pods; services admit its principal."""
    return service_account(names.ingress_gateway_service_account(level), platform.ingress_namespace, COMPONENT)


def gateway_proxy_config() -> dict[str, Any]:
    """The gateway's own ProxyConfig: how many proxies' word on the client address it trusts."""
    return {"gatewayTopology": {"numTrustedProxies": TRUSTED_PROXIES}}


def gateway_pod_annotations() -> dict[str, str]:
    return {INJECT_TEMPLATES_ANNOTATION: "gateway", PROXY_CONFIG_ANNOTATION: dump_yaml(gateway_proxy_config())}


def gateway_deployment(platform: PlatformSpec, level: str) -> dict[str, Any]:
    """The level's ingress gateway: Istio's gateway injection template turns the placeholder into Envoy."""
    selector = names.ingress_gateway_selector(level)
    pod_labels = {**selector, INJECT_LABEL: "true", names.LABEL_NAME: names.ingress_gateway_name(level)}
    proxy = {
        "name": "istio-proxy",
        "image": "auto",
        "ports": [{"name": HTTPS_PORT_NAME, "containerPort": GATEWAY_TARGET_PORT, "protocol": "TCP"}],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
            "runAsUser": PROXY_UID,
            "runAsGroup": PROXY_UID,
        },
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "1Gi"}},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(names.ingress_gateway_name(level), COMPONENT, platform.ingress_namespace),
        "spec": {
            "replicas": GATEWAY_REPLICAS,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": pod_labels, "annotations": gateway_pod_annotations()},
                "spec": {"serviceAccountName": names.ingress_gateway_service_account(level), "containers": [proxy]},
            },
        },
    }


def gateway_service(platform: PlatformSpec, level: str) -> dict[str, Any]:
    """The NodePort the level's ALB target group reaches the gateway pods on."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(names.ingress_gateway_name(level), COMPONENT, platform.ingress_namespace),
        "spec": {
            "type": "NodePort",
            "selector": names.ingress_gateway_selector(level),
            "ports": [
                {
                    "name": HTTPS_PORT_NAME,
                    "port": HTTPS_PORT,
                    "targetPort": GATEWAY_TARGET_PORT,
                    "nodePort": GATEWAY_NODE_PORTS[level],
                    "protocol": "TCP",
                    "appProtocol": "https",
                }
            ],
        },
    }


def target_group_binding(platform: PlatformSpec, level: str) -> dict[str, Any] | None:
    """The level's target group (an AWS piece of the platform scope), kept filled with the nodes on the gateway's
    NodePort. Bound by ARN, known once the target group exists: until then there is no binding. (The controller
    also takes ``targetGroupName``, but resolves it unreliably when targets change.)"""
    arn = platform.target_group_arn(level)
    if not arn:
        return None
    return {
        "apiVersion": LOAD_BALANCER_API,
        "kind": "TargetGroupBinding",
        "metadata": metadata(names.ingress_gateway_name(level), COMPONENT, platform.ingress_namespace),
        "spec": {
            "targetGroupARN": arn,
            "targetType": "instance",
            "ipAddressType": "ipv4",
            "serviceRef": {"name": names.ingress_gateway_name(level), "port": HTTPS_PORT_NAME},
        },
    }


def gateway_certificate(platform: PlatformSpec, level: str) -> dict[str, Any]:
    """The certificate the gateway presents to the ALB, written by cert-manager into the credential Secret."""
    secret = names.gateway_tls_secret_name(level)
    return {
        "apiVersion": CERT_MANAGER_API,
        "kind": "Certificate",
        "metadata": metadata(secret, COMPONENT, platform.ingress_namespace),
        "spec": {
            "secretName": secret,
            "dnsNames": [f"*.{platform.zone(level)}"],
            "issuerRef": issuer_ref(),
        },
    }


def gateway(platform: PlatformSpec, level: str) -> dict[str, Any]:
    """The level's Gateway: HTTPS from the ALB on the level's gateway pods; VirtualServices bind to it by name."""
    server = {
        "name": HTTPS_PORT_NAME,
        "port": {"number": HTTPS_PORT, "name": HTTPS_PORT_NAME, "protocol": "HTTPS"},
        # No SNI comes from the ALB: a wildcard server is the only one its handshake can match.
        "hosts": ["*"],
        "tls": {"mode": "SIMPLE", "credentialName": names.gateway_tls_secret_name(level)},
    }
    return {
        "apiVersion": NETWORKING,
        "kind": "Gateway",
        "metadata": metadata(names.gateway_name(level), COMPONENT, platform.ingress_namespace),
        "spec": {"selector": names.ingress_gateway_selector(level), "servers": [server]},
    }


def credential_reader(platform: PlatformSpec) -> list[dict[str, Any]]:
    """Istio serves a Gateway's ``credentialName`` only to gateways whose ServiceAccount may read that Secret."""
    ns = platform.ingress_namespace
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": metadata(SDS_ROLE, COMPONENT, ns),
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "watch", "list"]}],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": metadata(SDS_ROLE, COMPONENT, ns),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": SDS_ROLE},
        "subjects": [
            {"kind": "ServiceAccount", "name": names.ingress_gateway_service_account(level), "namespace": ns}
            for level in EXPOSED_LEVELS
        ],
    }
    return [role, binding]


def internal_tools_route(platform: PlatformSpec) -> list[dict[str, Any]]:
    """Internal hostnames no mesh service claims go on to the Nginx Ingress controller (tools outside the mesh).

    The platform's own hosts (OAuth2 Proxy, the SRE consoles) are named exactly as well: a mesh service claiming one
    of them is then a conflict on the same host (``analyze`` PA011), not a silent takeover by the exact name. The
    controller's Service is the ingress-nginx chart's (``NGINX_CONTROLLER_SERVICE``, port 443), not rendered here.

    The gateway re-encrypts to Nginx, which serves each tool's own certificate (issued by the cluster's CA, so
    not checked here); the DestinationRule is visible to the gateway's namespace only.
    """
    ns = platform.ingress_namespace
    nginx = nginx_controller_host()
    route = {
        "apiVersion": NETWORKING,
        "kind": "VirtualService",
        "metadata": metadata(NGINX_ROUTE, COMPONENT, ns),
        "spec": {
            "hosts": [*names.platform_hosts(platform)[INTERNAL], f"*.{platform.internal_zone}"],
            "gateways": [names.gateway_ref(ns, INTERNAL)],
            "http": [
                {"name": "nginx-ingress", "route": [{"destination": {"host": nginx, "port": {"number": HTTPS_PORT}}}]}
            ],
        },
    }
    tls = {
        "apiVersion": NETWORKING,
        "kind": "DestinationRule",
        "metadata": metadata(NGINX_ROUTE, COMPONENT, ns),
        "spec": {
            "host": nginx,
            "exportTo": ["."],
            "trafficPolicy": {"tls": {"mode": "SIMPLE", "insecureSkipVerify": True}},
        },
    }
    return [route, tls]


def build_ingress(platform: PlatformSpec) -> list[dict[str, Any]]:
    """The ingress namespace, both levels' gateways and their bindings, and the route to Nginx."""
    manifests = [namespace(platform.ingress_namespace, COMPONENT, mesh=True), *credential_reader(platform)]
    for level in EXPOSED_LEVELS:
        manifests += [
            gateway_service_account(platform, level),
            gateway_deployment(platform, level),
            gateway_service(platform, level),
            gateway_certificate(platform, level),
            gateway(platform, level),
        ]
        if binding := target_group_binding(platform, level):
            manifests.append(binding)
    return [*manifests, *internal_tools_route(platform)]
