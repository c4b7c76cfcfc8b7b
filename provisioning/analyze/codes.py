"""The finding codes: the contract of ``analyze``. A code keeps its meaning for ever; a new check gets a new number."""

from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Code:
    """One check: its severity and what it means, as the README's table states it."""

    code: str
    severity: str
    summary: str


CODES: dict[str, Code] = {
    code.code: code
    for code in (
        Code("PA001", ERROR, "a VirtualService names a Gateway that is not in the set (`mesh` excepted)"),
        Code(
            "PA002", ERROR, "a VirtualService host is matched by no `servers[].hosts` entry of the Gateways it binds to"
        ),
        Code("PA003", ERROR, "a route's `destination.subset` is defined by no DestinationRule for that host"),
        Code("PA004", ERROR, "a route's or DestinationRule's host resolves to no Service or ServiceEntry in the set"),
        Code(
            "PA005",
            ERROR,
            "a Gateway-bound route leads to a namespace whose ALLOW AuthorizationPolicies deny the gateway",
        ),
        Code("PA006", ERROR, "a DestinationRule disables TLS towards a namespace whose PeerAuthentication is STRICT"),
        Code("PA007", ERROR, "a Certificate's `issuerRef` names an Issuer or ClusterIssuer that is not in the set"),
        Code("PA008", ERROR, "a Secret (or a key of it) that an object needs is produced by nothing in the set"),
        Code("PA009", ERROR, "a ServiceMonitor selects no Service, or names an endpoint port no selected Service has"),
        Code("PA010", ERROR, "an Ingress backend names a Service or a Service port that is not in the set"),
        Code("PA011", WARNING, "two VirtualServices bound to the same gateway claim the same host"),
        Code("PA012", WARNING, "a PrometheusRule alert would be routed by no AlertmanagerConfig of its namespace"),
        Code(
            "PA013",
            ERROR,
            "a destination or DestinationRule host in the `name.namespace[.svc]` form, which Istio does not expand",
        ),
        Code(
            "PA101",
            ERROR,
            "a hostname a VirtualService or Ingress serves on an ALB has no Route53 record to that ALB (portal state)",
        ),
        Code(
            "PA102",
            ERROR,
            "a hostname served on an ALB has no certificate (exact or wildcard) on that ALB's HTTPS listener "
            "(portal state)",
        ),
        Code(
            "PA103",
            ERROR,
            "an ALB's security groups admit its intended sources on no rule for 443 (portal state)",
        ),
        Code("PA104", ERROR, "an ALB has no WAF web ACL associated (portal state)"),
    )
}
