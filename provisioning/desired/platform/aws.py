"""The platform's shared AWS pieces (DESIGN §2, §3, §16, §18-2): pure, deterministic, no I/O.

They belong to the platform scope, so they are planned, applied, recorded in the inventory and drift-checked like
the platform's Kubernetes objects. A body refers to another piece by its name (the load balancer a listener
belongs to, the target group it forwards to, the IP set a rule references, the group a rule admits), never by an
ARN: names are known before anything exists, so the plan of a fresh platform is complete, and a recreated piece is
found again. The writers resolve names to ARNs and ids; the readers report ARNs and ids as names.

Per exposure level:

- ``route53.HostedZone`` (namespace: the level): the level's public zone. Adopted by name; created only in the
  local sandbox, since real zones are delegated by people. ACM validates through public DNS, so both are public.
- ``ec2.SecurityGroup``: the ALB's own group. External: 443 and 80 from anywhere (IPv4 and IPv6); internal: 443
  from the corp CIDRs and the NAT gateways' egress addresses only. The group owns its ingress rules: one added or
  removed by hand is drift.
- ``ec2.SecurityGroupIngress`` (namespace: the nodes' group, a platform setting): the nodes admit the level's ALB
  group on the level's gateway NodePort, the port its target group reaches them on.
- ``elbv2.TargetGroup``: HTTPS to the gateway's NodePort (instance targets; the ALB re-encrypts, seed §17), kept
  filled by the platform layer's TargetGroupBinding.
- ``elbv2.LoadBalancer``: internet-facing or internal, in the platform's subnets, with its own security group.
- ``elbv2.Listener``: HTTPS on 443 forwarding to the target group, presenting the zone apex's certificate when no
  service certificate matches (services attach theirs by SNI); on the external ALB also HTTP on 80, which
  redirects to HTTPS.
- ``acm.PlatformCertificate`` and ``route53.PlatformRecord`` (namespace: the level, name: the host): for every
  host the platform itself serves there (``names.platform_hosts``: OAuth2 Proxy's sign-in host, Grafana, the
  platform UIs), a DNS-validated certificate attached to the level's HTTPS listener and an alias record in the
  level's zone pointing at its ALB. Named by the zone, the ALB and the listener's port, like everything here.
- ``wafv2.WebACL`` and ``wafv2.WebACLAssociation``: external, a per-IP rate limit and AWS's IP-reputation,
  SQL-injection and common-attack rule groups; internal, only the allowed networks (the IP set) get through.

Once: ``route53.Delegation`` (namespace: the external zone), the NS record that delegates the internal zone from
the external one when it lies under it (ACM validates the internal hosts' certificates through public DNS, so the
internal zone is public and must be found from its parent); ``wafv2.IPSet`` of the corp CIDRs and the NAT
gateways' egress addresses; the EKS control-plane log group (``logs.LogGroup``, with the platform's
retention, made before EKS makes it without) and ``eks.ClusterLogging`` (api, audit and authenticator logs on;
types someone else turned on stay on, only these are declared).
"""

import ipaddress
from typing import Any

from provisioning import names
from provisioning.aws.kinds import (
    CLUSTER_LOGGING,
    HOSTED_ZONE,
    IP_SET,
    LISTENER,
    LOAD_BALANCER,
    LOG_GROUP,
    PLATFORM_CERTIFICATE,
    PLATFORM_RECORD,
    SECURITY_GROUP,
    SECURITY_GROUP_INGRESS,
    TARGET_GROUP,
    WEB_ACL,
    WEB_ACL_ASSOCIATION,
    ZONE_DELEGATION,
)
from provisioning.resources import Resource, aws, canonical_order
from provisioning.spec import EXPOSED_LEVELS, PlatformSpec

from .ingress import GATEWAY_NODE_PORTS

SCHEMES = {"external": "internet-facing", "internal": "internal"}
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
HTTPS_PORT, HTTP_PORT = 443, 80
# The gateway serves HTTPS (re-encryption); it answers 404 to unknown hosts, which is alive all the same.
TARGET_PROTOCOL = "HTTPS"
HEALTH_CHECK = {"protocol": TARGET_PROTOCOL, "path": "/", "matcher": "200-499"}
ANYWHERE = ("0.0.0.0/0", "::/0")
# Cheapest first: addresses AWS knows to be harmful (bots, scanners) are blocked before the costlier inspections.
EXTERNAL_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesCommonRuleSet",
)
# Route53's usual TTL for a delegation (two days): name servers of a zone seldom change.
DELEGATION_TTL = 172800
CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator")


def build_platform_aws(platform: PlatformSpec) -> list[Resource]:
    """Every shared AWS piece of the platform, both levels' and the ones it has once."""
    resources = [*control_plane_logging(platform), corp_ip_set(platform), *zone_delegation(platform)]
    hosts = names.platform_hosts(platform)
    for level in EXPOSED_LEVELS:
        resources += [
            hosted_zone(platform, level),
            alb_security_group(platform, level),
            nodes_ingress(platform, level),
            target_group(platform, level),
            load_balancer(platform, level),
            https_listener(platform, level),
            web_acl(platform, level),
            web_acl_association(platform, level),
        ]
        for host in hosts[level]:
            resources += [host_certificate(platform, level, host), host_record(platform, level, host)]
        if level == "external":
            resources.append(http_redirect_listener(platform, level))
    return resources


def hosted_zone(platform: PlatformSpec, level: str) -> Resource:
    zone = platform.zone(level)
    return aws(HOSTED_ZONE, zone, {"name": zone, "private_zone": False}, namespace=level)


def zone_delegation(platform: PlatformSpec) -> list[Resource]:
    """The NS record in the external zone naming the internal zone's name servers, when the internal zone lies
    under the external one; a zone elsewhere is delegated by whoever holds its parent."""
    child, parent = platform.internal_zone, platform.external_zone
    if not child.endswith(f".{parent}"):
        return []
    return [aws(ZONE_DELEGATION, child, {"delegates_to": child, "ttl": DELEGATION_TTL}, namespace=parent)]


def host_certificate(platform: PlatformSpec, level: str, host: str) -> Resource:
    """A host the platform serves: its certificate, validated in the level's zone, on the level's HTTPS listener."""
    body = {
        "domain_name": host,
        "validation_zone": platform.zone(level),
        "listener": {"load_balancer": names.alb_name(platform.cluster_name, level), "port": HTTPS_PORT},
        "status": "ISSUED",
        "tags": names.platform_tags(host),
    }
    return aws(PLATFORM_CERTIFICATE, host, body, namespace=level)


def host_record(platform: PlatformSpec, level: str, host: str) -> Resource:
    """A host the platform serves: its alias record in the level's zone, at the level's ALB. Route53 records have
    no tags: ``tags`` is the owner TXT record beside it, as for a service's."""
    body = {
        "zone": platform.zone(level),
        "load_balancer": names.alb_name(platform.cluster_name, level),
        "tags": names.platform_identity(),
    }
    return aws(PLATFORM_RECORD, host, body, namespace=level)


def ingress_rule(port: int, cidr: str) -> dict[str, Any]:
    """One ingress rule of a group the platform owns: TCP on ``port`` from a CIDR block (IPv4 or IPv6)."""
    return {"protocol": "tcp", "port": port, "cidr": str(ipaddress.ip_network(cidr, strict=False))}


def alb_security_group(platform: PlatformSpec, level: str) -> Resource:
    name = names.alb_security_group_name(platform.cluster_name, level)
    if level == "external":
        rules = [ingress_rule(port, cidr) for port in (HTTPS_PORT, HTTP_PORT) for cidr in ANYWHERE]
    else:
        rules = [ingress_rule(HTTPS_PORT, cidr) for cidr in allowed_networks(platform)]
    body = {"vpc_id": platform.vpc_id, "ingress": canonical_order(rules), "tags": names.platform_tags(name)}
    return aws(SECURITY_GROUP, name, body, namespace=level)


def nodes_ingress(platform: PlatformSpec, level: str) -> Resource:
    """The nodes' group admits the level's ALB on the gateway's NodePort (named by its source group)."""
    source = names.alb_security_group_name(platform.cluster_name, level)
    body = {"protocol": "tcp", "port": GATEWAY_NODE_PORTS[level], "source_security_group": source}
    return aws(SECURITY_GROUP_INGRESS, source, body, namespace=platform.node_security_group_id)


def target_group(platform: PlatformSpec, level: str) -> Resource:
    name = names.target_group_name(platform.cluster_name, level)
    body = {
        "protocol": TARGET_PROTOCOL,
        "port": HTTPS_PORT,
        "vpc_id": platform.vpc_id,
        "target_type": "instance",
        "health_check": HEALTH_CHECK,
        "tags": names.platform_tags(name),
    }
    return aws(TARGET_GROUP, name, body, namespace=level)


def load_balancer(platform: PlatformSpec, level: str) -> Resource:
    name = names.alb_name(platform.cluster_name, level)
    body = {
        "scheme": SCHEMES[level],
        "type": "application",
        "subnets": sorted(platform.subnet_ids),
        "security_groups": [names.alb_security_group_name(platform.cluster_name, level)],
        "tags": names.platform_tags(name),
    }
    return aws(LOAD_BALANCER, name, body, namespace=level)


def https_listener(platform: PlatformSpec, level: str) -> Resource:
    name = names.https_listener_name(platform.cluster_name, level)
    body = {
        "load_balancer": names.alb_name(platform.cluster_name, level),
        "protocol": "HTTPS",
        "port": HTTPS_PORT,
        "ssl_policy": SSL_POLICY,
        "default_certificate": {"domain": platform.zone(level), "status": "ISSUED"},
        "default_action": {"type": "forward", "target_group": names.target_group_name(platform.cluster_name, level)},
        "tags": names.platform_tags(name),
    }
    return aws(LISTENER, name, body, namespace=level)


def http_redirect_listener(platform: PlatformSpec, level: str) -> Resource:
    name = names.http_listener_name(platform.cluster_name, level)
    body = {
        "load_balancer": names.alb_name(platform.cluster_name, level),
        "protocol": "HTTP",
        "port": HTTP_PORT,
        "default_action": {"type": "redirect", "protocol": "HTTPS", "port": str(HTTPS_PORT), "status_code": "HTTP_301"},
        "tags": names.platform_tags(name),
    }
    return aws(LISTENER, name, body, namespace=level)


def allowed_networks(platform: PlatformSpec) -> list[str]:
    """The internal ALB's sources, normalized and each once: the corp networks and the NAT gateways' addresses."""
    return sorted({str(ipaddress.ip_network(cidr, strict=False)) for cidr in platform.allowed_cidrs})


def corp_ip_set(platform: PlatformSpec) -> Resource:
    name = names.corp_ip_set_name(platform.cluster_name)
    addresses = allowed_networks(platform)
    body = {"ip_address_version": "IPV4", "addresses": addresses, "tags": names.platform_tags(name)}
    return aws(IP_SET, name, body)


def visibility(metric: str) -> dict[str, Any]:
    return {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": metric}


def external_rules(name: str, rate_limit: int) -> list[dict[str, Any]]:
    """Internet-facing: a per-IP rate limit, then AWS's IP-reputation, SQL injection and common-attack (XSS, ...)
    rule groups."""
    rules = [
        {
            "Name": "rate-limit",
            "Priority": 0,
            "Statement": {"RateBasedStatement": {"Limit": rate_limit, "AggregateKeyType": "IP"}},
            "Action": {"Block": {}},
            "VisibilityConfig": visibility(f"{name}-rate-limit"),
        }
    ]
    for priority, group in enumerate(EXTERNAL_RULE_GROUPS, start=1):
        rules.append(
            {
                "Name": group,
                "Priority": priority,
                "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": group}},
                "OverrideAction": {"None": {}},
                "VisibilityConfig": visibility(f"{name}-{group}"),
            }
        )
    return rules


def internal_rules(name: str, ip_set: str) -> list[dict[str, Any]]:
    """Internal: the corp networks and the NAT gateways' addresses are allowed (the IP set, by name), everything
    else is blocked."""
    return [
        {
            "Name": "allow-corp-networks",
            "Priority": 0,
            "Statement": {"IPSetReferenceStatement": {"IPSet": ip_set}},
            "Action": {"Allow": {}},
            "VisibilityConfig": visibility(f"{name}-allow-corp-networks"),
        }
    ]


def web_acl(platform: PlatformSpec, level: str) -> Resource:
    """Rules in WAF's own shape, except that an IP set is referenced by name (``IPSet``) instead of ``ARN``."""
    name = names.web_acl_name(platform.cluster_name, level)
    if level == "external":
        default, rules = {"Allow": {}}, external_rules(name, platform.waf_rate_limit)
    else:
        default, rules = {"Block": {}}, internal_rules(name, names.corp_ip_set_name(platform.cluster_name))
    body = {
        "default_action": default,
        "rules": rules,
        "visibility_config": visibility(name),
        "tags": names.platform_tags(name),
    }
    return aws(WEB_ACL, name, body, namespace=level)


def web_acl_association(platform: PlatformSpec, level: str) -> Resource:
    """The level's web ACL in front of its ALB (named by the ALB)."""
    alb = names.alb_name(platform.cluster_name, level)
    return aws(WEB_ACL_ASSOCIATION, alb, {"web_acl": names.web_acl_name(platform.cluster_name, level)}, namespace=level)


def control_plane_logging(platform: PlatformSpec) -> list[Resource]:
    group = names.control_plane_log_group_name(platform.cluster_name)
    return [
        aws(
            LOG_GROUP,
            group,
            {"retention_days": platform.control_plane_log_retention_days, "tags": names.platform_tags(group)},
        ),
        aws(CLUSTER_LOGGING, platform.cluster_name, {"types": dict.fromkeys(CONTROL_PLANE_LOG_TYPES, True)}),
    ]
