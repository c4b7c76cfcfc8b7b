"""The AWS side of exposure (PA101-PA104), read from the portal's desired AWS resources next to its Kubernetes
objects: which hostnames an ALB serves, and whether DNS, the listener's certificates, the ALB's security groups
and WAF let requests for them through.

An ALB serves the hostnames of the Gateways its HTTPS listener forwards to: the listener's target group is kept
filled by a ``TargetGroupBinding`` (by the group's ARN or name) with the nodes of a Service, whose pods a Gateway
selects; the VirtualServices bound to that Gateway name the hostnames, and a wildcard one hands the hostnames of
the Ingresses it covers on to an Ingress controller. Resources refer to each other by name or by what AWS
reported for them (an ARN, a DNS name, in ``AwsResource.outputs``). Without AWS resources in the set (manifests
given with ``-f``) these checks have nothing to read and report nothing.
"""

import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from provisioning.aws.kinds import (
    CERTIFICATE,
    IP_SET,
    LISTENER,
    LOAD_BALANCER,
    PLATFORM_CERTIFICATE,
    PLATFORM_RECORD,
    RECORD,
    SECURITY_GROUP,
    SECURITY_GROUP_INGRESS,
    TARGET_GROUP,
    WEB_ACL,
    WEB_ACL_ASSOCIATION,
)

from .graph import INGRESS_GROUPS, ISTIO_NETWORKING, Graph
from .hosts import is_wildcard, normalized
from .model import AwsResource, Finding, KubeObject, mapping, sequence, text
from .routing import bound_gateways, virtual_services
from .selectors import surely_selects

LOAD_BALANCER_CONTROLLER = "elbv2.k8s.aws"
HTTPS_PORT = 443
ANY_IPV4, ANY_IPV6 = "0.0.0.0/0", "::/0"
ALL_PROTOCOLS = ("-1", "all")
DUALSTACK_PREFIX = "dualstack."


def _key(value: Any) -> str:
    """A name, ARN or DNS name as references compare it."""
    return normalized(text(value)).removeprefix(DUALSTACK_PREFIX)


def references(resource: AwsResource) -> frozenset[str]:
    """What may name ``resource``: its name and the ARN and DNS name AWS reported for it."""
    values = [resource.name, *(resource.outputs.get(k) for k in ("arn", "dns_name"))]
    values += [resource.spec.get(k) for k in ("arn", "dns_name")]
    return frozenset(_key(v) for v in values if text(v))


@dataclass(frozen=True)
class Served:
    """A hostname an ALB serves, and the object (a VirtualService or an Ingress) and field that name it."""

    host: str
    obj: KubeObject
    path: str


class AwsIndex:
    """The AWS resources of the set by kind, with the joins the checks share."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.by_kind: dict[str, list[AwsResource]] = defaultdict(list)
        for resource in sorted(graph.aws, key=lambda r: r.ident):
            self.by_kind[resource.kind].append(resource)

    def of_kind(self, kind: str) -> list[AwsResource]:
        return self.by_kind.get(kind, [])

    def named(self, kind: str, reference: Any) -> AwsResource | None:
        """The resource of ``kind`` that ``reference`` (a name, an ARN or a DNS name) names."""
        key = _key(reference)
        if not key:
            return None
        return next((r for r in self.of_kind(kind) if key in references(r)), None)

    def listeners(self, alb: AwsResource) -> list[AwsResource]:
        """The ALB's HTTPS listeners."""
        refs = references(alb)
        return [
            listener
            for listener in self.of_kind(LISTENER)
            if _key(listener.spec.get("load_balancer")) in refs
            and (text(listener.spec.get("protocol")).upper() == "HTTPS" or listener.spec.get("port") == HTTPS_PORT)
        ]

    def target_groups(self, alb: AwsResource) -> list[AwsResource]:
        """The target groups the ALB's HTTPS listeners forward to (by default)."""
        found = []
        for listener in self.listeners(alb):
            action = mapping(listener.spec.get("default_action"))
            names = [action.get("target_group"), *sequence(action.get("target_groups"))]
            found += [group for name in names if (group := self.named(TARGET_GROUP, name)) is not None]
        return found

    @cached_property
    def _served(self) -> dict[str, list[Served]]:
        return {alb.ident: list(self._hosts_of(alb)) for alb in self.of_kind(LOAD_BALANCER)}

    def served(self, alb: AwsResource) -> list[Served]:
        return self._served[alb.ident]

    def _hosts_of(self, alb: AwsResource) -> Iterator[Served]:
        gateways = {gw.ident: gw for group in self.target_groups(alb) for gw in self._gateways_behind(group)}
        for vs in virtual_services(self.graph):
            if not any(gw.ident in gateways for gw in bound_gateways(self.graph, vs)):
                continue
            for i, raw in enumerate(sequence(vs.spec.get("hosts"))):
                host = normalized(text(raw))
                if not host or "." not in host or host.endswith(f".svc.{self.graph.domain}"):
                    continue
                if not is_wildcard(host):
                    yield Served(host, vs, f"spec.hosts[{i}]")
                    continue
                for ingress in self.graph.of_kind("Ingress", *INGRESS_GROUPS):
                    for j, rule in enumerate(sequence(ingress.spec.get("rules"))):
                        named = normalized(text(mapping(rule).get("host")))
                        if named and not is_wildcard(named) and named.endswith(host[1:]):
                            yield Served(named, ingress, f"spec.rules[{j}].host")

    def _gateways_behind(self, group: AwsResource) -> Iterator[KubeObject]:
        """The Gateways whose pods the target group reaches: through a TargetGroupBinding's Service."""
        refs = references(group)
        for binding in self.graph.of_kind("TargetGroupBinding", LOAD_BALANCER_CONTROLLER):
            named = [binding.spec.get("targetGroupARN"), binding.spec.get("targetGroupName")]
            if not any(_key(n) in refs for n in named if text(n)):
                continue
            service_ref = text(mapping(binding.spec.get("serviceRef")).get("name"))
            service = self.graph.services.get((binding.namespace, service_ref))
            pods = self.graph.pod_labels(service)
            if pods is None:
                continue
            for gateway in self.graph.of_kind("Gateway", ISTIO_NETWORKING):
                selector = mapping(gateway.spec.get("selector"))
                if selector and surely_selects(selector, pods):
                    yield gateway


def _by_host(served: Iterable[Served]) -> list[Served]:
    """Each (host, object, field) once, in order."""
    return sorted(set(served), key=lambda s: (s.obj.ident, s.path, s.host))


def alb_name(alb: AwsResource) -> str:
    return alb.ident.removeprefix(f"{LOAD_BALANCER}/")


def check_records(graph: Graph) -> Iterator[Finding]:
    """PA101: every hostname an ALB serves has a Route53 alias record pointing at that ALB."""
    index = AwsIndex(graph)
    records: dict[str, list[AwsResource]] = defaultdict(list)
    for record in [*index.of_kind(RECORD), *index.of_kind(PLATFORM_RECORD)]:
        records[normalized(text(record.spec.get("name")) or record.name)].append(record)
    for alb in index.of_kind(LOAD_BALANCER):
        refs = references(alb)
        for served in _by_host(index.served(alb)):
            found = records.get(served.host, [])
            targets = [_record_target(r) for r in found]
            if any(t in refs for t in targets):
                continue
            elsewhere = ", ".join(f"{r.ident} points at {t or 'nothing'}" for r, t in zip(found, targets, strict=True))
            yield Finding(
                "PA101",
                served.obj.ident,
                served.path,
                f"host {served.host} is served on ALB {alb_name(alb)} but no Route53 record points at that ALB"
                + (f" ({elsewhere})" if elsewhere else "")
                + "; clients never reach it",
            )


def _record_target(record: AwsResource) -> str:
    """What an alias record points at: a service's record names the ALB's DNS name, a platform host's record the
    ALB by name."""
    if record.kind == PLATFORM_RECORD:
        return _key(record.spec.get("load_balancer"))
    return _key(mapping(record.spec.get("alias")).get("dns_name"))


def acm_covers(name: str, host: str) -> bool:
    """ACM's matching: an exact name, or a wildcard standing for exactly one leftmost label."""
    name = normalized(name)
    if name == host:
        return True
    if not name.startswith("*."):
        return False
    label, _, rest = host.partition(".")
    return bool(label) and rest == name[2:]


def _certificate_names(index: AwsIndex, listener: AwsResource) -> list[str]:
    """The names of the certificates the listener presents: its default one and the ACM certificates attached
    to it (by the listener's name or ARN)."""
    refs = references(listener)
    names = []
    default = mapping(listener.spec.get("default_certificate"))
    names += [text(default.get("domain")), *(text(n) for n in sequence(default.get("subject_alternative_names")))]
    balancer = _key(listener.spec.get("load_balancer"))
    for certificate in [*index.of_kind(CERTIFICATE), *index.of_kind(PLATFORM_CERTIFICATE)]:
        attached = [certificate.spec.get("listener_arn"), certificate.spec.get("listener")]
        # A platform host's certificate names its listener by load balancer and port.
        on = mapping(certificate.spec.get("listener"))
        by_parts = (
            bool(on) and _key(on.get("load_balancer")) == balancer and on.get("port") == listener.spec.get("port")
        )
        if by_parts or any(_key(a) in refs for a in attached if isinstance(a, str) and text(a)):
            names.append(text(certificate.spec.get("domain_name")) or certificate.name)
            names += [text(n) for n in sequence(certificate.spec.get("subject_alternative_names"))]
    return [n for n in names if n]


def check_certificates(graph: Graph) -> Iterator[Finding]:
    """PA102: every hostname an ALB serves is covered (exactly or by a wildcard) by a certificate of the ALB's
    HTTPS listener."""
    index = AwsIndex(graph)
    for alb in index.of_kind(LOAD_BALANCER):
        listeners = index.listeners(alb)
        names = sorted({n for listener in listeners for n in _certificate_names(index, listener)})
        for served in _by_host(index.served(alb)):
            if any(acm_covers(name, served.host) for name in names):
                continue
            yield Finding(
                "PA102",
                served.obj.ident,
                served.path,
                f"host {served.host} is served on ALB {alb_name(alb)} but no certificate of its HTTPS listener "
                f"covers it (it has {', '.join(names) or 'none'}); the TLS handshake presents another name",
            )


def _network(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text(value), strict=False)
    except ValueError:
        return None


def _admits_https(rule: Any) -> bool:
    rule = mapping(rule)
    if text(rule.get("protocol")).lower() in ALL_PROTOCOLS:
        return True
    if text(rule.get("protocol")).lower() not in ("tcp", "6"):
        return False
    low = rule.get("from_port", rule.get("port"))
    high = rule.get("to_port", low)
    return isinstance(low, int) and isinstance(high, int) and low <= HTTPS_PORT <= high


def _intended_sources(index: AwsIndex, alb: AwsResource, web_acl: AwsResource | None) -> list[str]:
    """Who the ALB is for: anyone when internet-facing, else the internal networks (the settings', or the IP
    sets its web ACL allows)."""
    if text(alb.spec.get("scheme")) != "internal":
        dualstack = text(alb.spec.get("ip_address_type")).startswith("dualstack")
        return [ANY_IPV4, ANY_IPV6] if dualstack else [ANY_IPV4]
    if index.graph.settings.internal_sources:
        return list(index.graph.settings.internal_sources)
    sources: list[str] = []
    for rule in sequence(web_acl.spec.get("rules")) if web_acl else ():
        rule = mapping(rule)
        reference = mapping(mapping(rule.get("Statement")).get("IPSetReferenceStatement"))
        ip_set = index.named(IP_SET, reference.get("IPSet") or reference.get("ARN"))
        if "Allow" in mapping(rule.get("Action")) and ip_set is not None:
            sources += [text(a) for a in sequence(ip_set.spec.get("addresses"))]
    return sources


def check_security_groups(graph: Graph) -> Iterator[Finding]:
    """PA103: the ALB's security groups admit the ALB's intended sources on 443."""
    index = AwsIndex(graph)
    for alb in index.of_kind(LOAD_BALANCER):
        names = [text(g) for g in sequence(alb.spec.get("security_groups")) if text(g)]
        groups = [index.named(SECURITY_GROUP, name) for name in names]
        missing = [name for name, group in zip(names, groups, strict=True) if group is None]
        present = [group for group in groups if group is not None]
        rules = [rule for group in present for rule in sequence(group.spec.get("ingress"))]
        group_refs = {ref for group in present for ref in references(group)}
        rules += [r.spec for r in index.of_kind(SECURITY_GROUP_INGRESS) if _key(r.scope) in group_refs]
        admitting = [_network(mapping(r).get("cidr")) for r in rules if _admits_https(r)]
        sources = _intended_sources(index, alb, _web_acl(index, alb)[1])
        if not sources:
            # Nobody named: at least someone must be let in.
            unadmitted = [] if any(admitting) else ["anyone"]
        else:
            unadmitted = [s for s in sources if not _admitted(_network(s), admitting)]
        if not unadmitted and not missing:
            continue
        problems = []
        if missing:
            problems.append(f"security group {', '.join(missing)} is not in the set")
        if unadmitted:
            problems.append(f"no rule admits {', '.join(unadmitted)} on TCP {HTTPS_PORT}")
        yield Finding(
            "PA103",
            alb.ident,
            "spec.security_groups",
            f"ALB {alb_name(alb)}: {'; '.join(problems)}; its intended clients cannot connect",
        )


def _admitted(source: Any, admitting: list[Any]) -> bool:
    return source is not None and any(
        network is not None and network.version == source.version and source.subnet_of(network) for network in admitting
    )


def _web_acl(index: AwsIndex, alb: AwsResource) -> tuple[AwsResource | None, AwsResource | None]:
    """The WAF association of the ALB (named by the ALB, or naming it as ``resource``) and its web ACL."""
    refs = references(alb)
    for association in index.of_kind(WEB_ACL_ASSOCIATION):
        if _key(association.spec.get("resource") or association.name) in refs:
            return association, index.named(WEB_ACL, association.spec.get("web_acl"))
    return None, None


def check_web_acls(graph: Graph) -> Iterator[Finding]:
    """PA104: every ALB has a WAF web ACL of the set associated."""
    index = AwsIndex(graph)
    for alb in index.of_kind(LOAD_BALANCER):
        association, web_acl = _web_acl(index, alb)
        if web_acl is not None:
            continue
        if association is None:
            detail = "no wafv2.WebACLAssociation names it"
        else:
            detail = f"{association.ident} names web ACL {text(association.spec.get('web_acl'))}, not in the set"
        yield Finding(
            "PA104",
            alb.ident,
            "spec",
            f"ALB {alb_name(alb)} has no WAF web ACL associated ({detail}); requests reach the gateway unfiltered",
        )
