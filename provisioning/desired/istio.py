"""Pure builders of a mesh service's Istio objects: traffic policy, routing, mTLS, authorization and telemetry.

Routing of the VirtualService:

- Header routes come first, one per catalog route, each sending matching requests to another service.
- The default route always exists and sends everything else to this service (split stable/canary with a canary).
- Path prefixes restrict only what the level's gateway forwards: when the prefixes do not include ``/``, each
  route matches the gateway *and* a prefix, or the ``mesh`` gateway with no path condition. In-mesh callers keep
  reaching the whole service by its mesh host, so exposing part of an API never breaks its internal callers.
"""

from typing import Any

from provisioning import names
from provisioning.desired.kubernetes import object_meta
from provisioning.resources import Resource, k8s
from provisioning.spec import EXPOSED_LEVELS, PlatformSpec, Route, ServiceSpec

NETWORKING = "networking.istio.io/v1"
SECURITY = "security.istio.io/v1"
TELEMETRY = "telemetry.istio.io/v1"

# Istio's reserved gateway name for traffic between sidecars.
MESH_GATEWAY = "mesh"

SIMPLE_LOAD_BALANCERS = {"round_robin": "ROUND_ROBIN", "least_request": "LEAST_REQUEST", "random": "RANDOM"}
STABLE_SUBSET = "stable"
CANARY_SUBSET = "canary"

# Providers the platform layer declares in meshConfig (Envoy's access log, Istio's Prometheus metrics).
ACCESS_LOG_PROVIDER = "envoy"
METRICS_PROVIDER = "prometheus"


def duration(seconds: float) -> str:
    """An Istio duration: whole seconds as ``"5s"``, anything finer in whole milliseconds (``"2500ms"``).

    Rounding to milliseconds keeps the text stable where float formatting would not be (``0.1 + 0.2``).
    """
    millis = round(seconds * 1000)
    return f"{millis // 1000}s" if millis % 1000 == 0 else f"{millis}ms"


def is_exposed(svc: ServiceSpec) -> bool:
    """Whether the level's ingress gateway forwards to this service."""
    return svc.exposure.level in EXPOSED_LEVELS


# --- DestinationRule ---------------------------------------------------------------------------------


def load_balancer(svc: ServiceSpec) -> dict[str, Any]:
    """``simple`` for the plain algorithms, ``consistentHash`` keyed by source IP, a header or a cookie.

    The proxy that picks the endpoint hashes: a caller's sidecar (its pod's address) or, for requests from an ALB,
    the level's ingress gateway, which takes the client's address from the ALB's ``X-Forwarded-For`` entry
    (``gatewayTopology.numTrustedProxies``, ``desired/platform/ingress.py``) rather than the node it came through.
    """
    if svc.traffic.load_balancer != "consistent_hash":
        return {"simple": SIMPLE_LOAD_BALANCERS[svc.traffic.load_balancer]}
    kind, _, key = svc.traffic.hash_on.partition(":")
    if kind == "header":
        # Envoy compares header names case-insensitively; lower case matches the catalog's route headers.
        return {"consistentHash": {"httpHeaderName": key.lower()}}
    if kind == "cookie":
        # A ttl makes Envoy set the cookie when the client has none; 0s keeps it a session cookie.
        return {"consistentHash": {"httpCookie": {"name": key, "ttl": "0s"}}}
    return {"consistentHash": {"useSourceIp": True}}


def connection_pool(svc: ServiceSpec) -> dict[str, Any]:
    """Only the limits the team set; empty sections are left out."""
    pool = svc.traffic.connection_pool
    if pool is None:
        return {}
    tcp = {"maxConnections": pool.max_connections} if pool.max_connections is not None else {}
    http = {
        key: value
        for key, value in (
            ("http1MaxPendingRequests", pool.http1_max_pending_requests),
            ("http2MaxRequests", pool.http2_max_requests),
        )
        if value is not None
    }
    return {section: body for section, body in (("tcp", tcp), ("http", http)) if body}


def outlier_detection(svc: ServiceSpec) -> dict[str, Any]:
    """Eject endpoints after consecutive 5xx (connection failures for TCP)."""
    outlier = svc.traffic.outlier_detection
    if outlier is None:
        return {}
    return {
        "consecutive5xxErrors": outlier.consecutive_5xx,
        "interval": duration(outlier.interval_seconds),
        "baseEjectionTime": duration(outlier.base_ejection_seconds),
        "maxEjectionPercent": outlier.max_ejection_percent,
    }


def destination_rule(svc: ServiceSpec) -> dict[str, Any]:
    """Client-side policy for calls to the service; always mesh mTLS, canary subsets by the pods' version label."""
    policy: dict[str, Any] = {"loadBalancer": load_balancer(svc)}
    if pool := connection_pool(svc):
        policy["connectionPool"] = pool
    if outlier := outlier_detection(svc):
        policy["outlierDetection"] = outlier
    policy["tls"] = {"mode": "ISTIO_MUTUAL"}
    spec: dict[str, Any] = {"host": names.mesh_host(svc.name), "trafficPolicy": policy}
    if svc.traffic.canary:
        spec["subsets"] = [
            {"name": STABLE_SUBSET, "labels": {names.LABEL_VERSION: svc.traffic.canary.stable_version}},
            {"name": CANARY_SUBSET, "labels": {names.LABEL_VERSION: svc.traffic.canary.version}},
        ]
    return {"apiVersion": NETWORKING, "kind": "DestinationRule", "metadata": object_meta(svc, svc.name), "spec": spec}


# --- VirtualService ----------------------------------------------------------------------------------


def gateways(svc: ServiceSpec, platform: PlatformSpec) -> list[str]:
    """Sidecars always; the level's ingress gateway when the service is exposed."""
    if is_exposed(svc):
        return [MESH_GATEWAY, names.gateway_ref(platform.ingress_namespace, svc.exposure.level)]
    return [MESH_GATEWAY]


def restricts_paths(svc: ServiceSpec) -> bool:
    """Whether the gateway forwards only some prefixes (``/`` among them means everything)."""
    return is_exposed(svc) and "/" not in svc.exposure.paths


def matches(svc: ServiceSpec, platform: PlatformSpec, condition: dict[str, Any]) -> list[dict[str, Any]]:
    """Match entries (ORed) for ``condition``: gateway traffic limited to the path prefixes, mesh traffic not."""
    if not restricts_paths(svc):
        return [condition] if condition else []
    gateway = names.gateway_ref(platform.ingress_namespace, svc.exposure.level)
    by_path = [{"gateways": [gateway], **condition, "uri": {"prefix": path}} for path in svc.exposure.paths]
    return [*by_path, {"gateways": [MESH_GATEWAY], **condition}]


def destinations(svc: ServiceSpec) -> list[dict[str, Any]]:
    """This service on its port, or its stable and canary subsets weighted 100-w / w."""
    target = {"host": names.mesh_host(svc.name), "port": {"number": svc.port}}
    if svc.traffic.canary is None:
        return [{"destination": target}]
    return [
        {"destination": {**target, "subset": STABLE_SUBSET}, "weight": 100 - svc.traffic.canary.weight},
        {"destination": {**target, "subset": CANARY_SUBSET}, "weight": svc.traffic.canary.weight},
    ]


def header_route(svc: ServiceSpec, platform: PlatformSpec, index: int, route: Route) -> dict[str, Any]:
    """Send requests whose header matches to another service, on its main port (its Service may also
    expose a metrics port). No timeout or retries: those are this service's limits, not the target's.
    """
    condition = {"headers": {route.header: {route.match: route.value}}}
    destination: dict[str, Any] = {"host": names.mesh_host(route.target)}
    if route.target_port is not None:
        destination["port"] = {"number": route.target_port}
    return {
        "name": f"route-{index}-{route.target}",
        "match": matches(svc, platform, condition),
        "route": [{"destination": destination}],
    }


def retries(svc: ServiceSpec) -> dict[str, Any]:
    """Istio retry policy; per-try timeout only when the team set one."""
    policy: dict[str, Any] = {"attempts": svc.traffic.retries.attempts}
    if svc.traffic.retries.per_try_timeout_seconds is not None:
        policy["perTryTimeout"] = duration(svc.traffic.retries.per_try_timeout_seconds)
    policy["retryOn"] = svc.traffic.retries.retry_on
    return policy


def default_route(svc: ServiceSpec, platform: PlatformSpec) -> dict[str, Any]:
    """Everything the header routes did not take, to this service, with its timeout and retries."""
    route: dict[str, Any] = {"name": "default"}
    if match := matches(svc, platform, {}):
        route["match"] = match
    route["route"] = destinations(svc)
    if svc.traffic.timeout_seconds is not None:
        route["timeout"] = duration(svc.traffic.timeout_seconds)
    if svc.traffic.retries is not None:
        route["retries"] = retries(svc)
    return route


def virtual_service(svc: ServiceSpec, platform: PlatformSpec) -> dict[str, Any]:
    """Routing for the mesh host and the exposure hostnames; L4 only for TCP services."""
    spec: dict[str, Any] = {
        "hosts": [names.mesh_host(svc.name), *svc.exposure.hostnames],
        "gateways": gateways(svc, platform),
    }
    if svc.protocol == "tcp":
        spec["tcp"] = [{"route": destinations(svc)}]
    else:
        header_routes = [header_route(svc, platform, i, r) for i, r in enumerate(svc.exposure.routes)]
        spec["http"] = [*header_routes, default_route(svc, platform)]
    return {"apiVersion": NETWORKING, "kind": "VirtualService", "metadata": object_meta(svc, svc.name), "spec": spec}


# --- Security ------------------------------------------------------------------------------------------


def peer_authentication(svc: ServiceSpec) -> dict[str, Any]:
    """Namespace-wide mTLS mode; the namespace holds only this service's workloads."""
    return {
        "apiVersion": SECURITY,
        "kind": "PeerAuthentication",
        "metadata": object_meta(svc, svc.name),
        "spec": {"mtls": {"mode": svc.traffic.mtls}},
    }


def scrape_rule(svc: ServiceSpec, platform: PlatformSpec) -> dict[str, Any]:
    """Let Prometheus scrape despite the allow-list, opening no more than the metrics endpoint.

    A separate metrics port serves nothing else, so any source may use it. On the service's own port, STRICT
    scrapes arrive over mTLS with the monitoring namespace's identity (see the ServiceMonitor); PERMISSIVE scrapes
    are plain text without one, so only ``GET`` of the metrics path is opened. A TCP port is never opened to
    sources without identity.
    """
    if svc.metrics_port != svc.port:
        return {"to": [{"operation": {"ports": [str(svc.metrics_port)]}}]}
    monitoring = {"from": [{"source": {"namespaces": [platform.monitoring_namespace]}}]}
    if svc.protocol == "tcp":
        return {**monitoring, "to": [{"operation": {"ports": [str(svc.port)]}}]}
    metrics = {
        "to": [{"operation": {"ports": [str(svc.port)], "methods": ["GET"], "paths": [svc.telemetry.metrics_path]}}]
    }
    return {**monitoring, **metrics} if svc.traffic.mtls == "STRICT" else metrics


def route_source_rules(svc: ServiceSpec, platform: PlatformSpec, admitted: set[str]) -> list[dict[str, Any]]:
    """Admit what other services' header routes send here (seed §15: ``storefront`` -> ``storefront-sp``).

    Istio routes in the proxy that sends the request, so a routed request arrives with that proxy's identity: the
    source's level gateway for requests from its ALB, or whichever service called the source. The gateway and the
    source's allowed callers are admitted by principal (beyond ``admitted``). A source that admits every in-mesh
    caller leads them all here: they are admitted only for requests addressed to the source (its names as Host,
    which routing leaves unchanged), so calling this service directly still needs a place on its own list.
    """
    principals: set[str] = set()
    open_sources: list[str] = []
    for source in svc.routed_from:
        if not source.mesh:
            continue  # outside the mesh a service has no VirtualService, so its routes lead nowhere
        if source.level in EXPOSED_LEVELS:
            principals.add(names.ingress_gateway_principal(platform.ingress_namespace, source.level))
        if source.allowed_callers:
            principals.update(names.principal(caller) for caller in source.allowed_callers)
        else:
            open_sources.append(source.service)
    rules: list[dict[str, Any]] = []
    if principals - admitted:
        rules.append({"from": [{"source": {"principals": sorted(principals - admitted)}}]})
    if open_sources and svc.protocol != "tcp":
        # Envoy matches a Host with a port only against ``name:*``.
        hosts = [
            form for source in open_sources for host in names.mesh_host_forms(source) for form in (host, f"{host}:*")
        ]
        rules.append({"from": [{"source": {"principals": ["*"]}}], "to": [{"operation": {"hosts": hosts}}]})
    return rules


def authorization_policy(svc: ServiceSpec, platform: PlatformSpec) -> dict[str, Any]:
    """ALLOW the listed callers, plus what the service needs to keep working: its ingress gateway, what other
    services' routes send here, and Prometheus.

    Kubelet probes are unaffected: Istio rewrites them to the sidecar's agent port.
    """
    callers = [names.principal(caller) for caller in sorted(svc.traffic.allowed_callers)]
    rules: list[dict[str, Any]] = [{"from": [{"source": {"principals": callers}}]}]
    admitted = set(callers)
    if is_exposed(svc):
        gateway = names.ingress_gateway_principal(platform.ingress_namespace, svc.exposure.level)
        rules.append({"from": [{"source": {"principals": [gateway]}}]})
        admitted.add(gateway)
    rules += route_source_rules(svc, platform, admitted)
    rules.append(scrape_rule(svc, platform))
    return {
        "apiVersion": SECURITY,
        "kind": "AuthorizationPolicy",
        "metadata": object_meta(svc, svc.name),
        "spec": {"action": "ALLOW", "rules": rules},
    }


# --- Telemetry -----------------------------------------------------------------------------------------


def telemetry(svc: ServiceSpec, platform: PlatformSpec) -> dict[str, Any]:
    """Access logs on or off, trace sampling through the platform's OpenTelemetry provider, Prometheus metrics."""
    return {
        "apiVersion": TELEMETRY,
        "kind": "Telemetry",
        "metadata": object_meta(svc, svc.name),
        "spec": {
            "accessLogging": [
                {"providers": [{"name": ACCESS_LOG_PROVIDER}], "disabled": not svc.telemetry.access_logging}
            ],
            "tracing": [
                {
                    "providers": [{"name": platform.otel_provider_name}],
                    "randomSamplingPercentage": svc.telemetry.tracing_sampling_percent,
                }
            ],
            "metrics": [{"providers": [{"name": METRICS_PROVIDER}]}],
        },
    }


def build_mesh(svc: ServiceSpec, platform: PlatformSpec) -> list[Resource]:
    """The Istio objects of a mesh service (none outside the mesh); an AuthorizationPolicy only with callers set."""
    if not svc.mesh:
        return []
    manifests = [destination_rule(svc), virtual_service(svc, platform), peer_authentication(svc)]
    if svc.traffic.allowed_callers:
        manifests.append(authorization_policy(svc, platform))
    manifests.append(telemetry(svc, platform))
    return [k8s(manifest) for manifest in manifests]
