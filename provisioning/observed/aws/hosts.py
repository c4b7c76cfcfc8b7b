"""The platform's own hosts as the portal sees them (``names.platform_hosts``): each one's certificate and the
listener it is on, its alias record with the owner TXT record beside it, and the NS record that delegates the
internal zone from the external one.

Reported the way the builder declares them: a zone by its name, a load balancer by its name, a listener by its
load balancer and port.
"""

from typing import Any

from ...aws.context import AwsContext
from ...aws.kinds import PLATFORM_CERTIFICATE, PLATFORM_RECORD, ZONE_DELEGATION
from ...names import alb_name, platform_identity, record_owner_name
from ...resources import Resource, aws
from ...spec import EXPOSED_LEVELS
from .acm import find_certificates, listener_certificates, rank, validation_in_zone, validation_record
from .elbv2 import find_listeners, find_load_balancer, listeners, load_balancer
from .observation import Observation
from .route53 import alias_of, hosted_zone, norm, parse_owner, values, zone_id_of, zone_records


def zone_id(obs: Observation, name: str) -> str:
    """The id of the hosted zone of that name ("" when there is none)."""
    zone = obs.once(("route53.hosted_zone", name), hosted_zone, obs.ctx, name)
    return zone_id_of(zone) if zone else ""


def find_listener(ctx: AwsContext, load_balancer_name: str, port: int) -> dict[str, Any] | None:
    """The listener on ``port`` of the load balancer of that name, read fresh (for the writers)."""
    alb = find_load_balancer(ctx, load_balancer_name)
    found = find_listeners(ctx, alb["LoadBalancerArn"]) if alb else []
    return next((item for item in found if item.get("Port") == port), None)


def listener_arn(obs: Observation, listener: dict[str, Any]) -> str:
    """The ARN of a listener declared as ``{"load_balancer": name, "port": port}`` ("" when it does not exist)."""
    alb = load_balancer(obs, listener["load_balancer"])
    current = listeners(obs, alb["LoadBalancerArn"]) if alb else []
    return next((item["ListenerArn"] for item in current if item.get("Port") == listener["port"]), "")


def name_servers(ctx: AwsContext, zone: str) -> list[str]:
    """The name servers Route53 gave the hosted zone of that name, normalized and sorted ([] without the zone)."""
    found = hosted_zone(ctx, zone)
    if found is None:
        return []
    delegation = ctx.client("route53").get_hosted_zone(Id=zone_id_of(found)).get("DelegationSet") or {}
    return sorted(norm(server) for server in delegation.get("NameServers", []))


class DelegationReader:
    kind = ZONE_DELEGATION

    def observe(self, obs: Observation, desired: list[Resource], recorded: list[Resource]) -> list[Resource]:
        """The NS record of the child zone (the resource's name) in its parent (the namespace). It delegates to the
        child when it names exactly the child zone's name servers; otherwise the servers it names are reported."""
        found = []
        for resource in {r.key: r for r in (*recorded, *desired)}.values():
            parent = zone_id(obs, resource.namespace)
            rrset = zone_records(obs, parent).get((resource.name, "NS")) if parent else None
            if rrset is None:
                continue
            servers = obs.once(("route53.name_servers", resource.name), name_servers, obs.ctx, resource.name)
            named = sorted(norm(value) for value in values(rrset))
            body = {"delegates_to": resource.name if servers and named == servers else named, "ttl": rrset.get("TTL")}
            observed = aws(ZONE_DELEGATION, resource.name, body, namespace=resource.namespace)
            obs.outputs[observed.key] = {"zone_id": parent, "name_servers": " ".join(named)}
            found.append(observed)
        return found


class PlatformCertificateReader:
    kind = PLATFORM_CERTIFICATE

    def observe(self, obs: Observation, desired: list[Resource], recorded: list[Resource]) -> list[Resource]:
        """The platform's certificate of each host (tagged for the platform, its ``Name`` the host)."""
        wanted = {r.key: r for r in (*recorded, *desired)}
        if not wanted:
            return []
        hosts = frozenset(r.name for r in wanted.values())
        certs = obs.once(("acm.platform", hosts), find_certificates, obs.ctx, set(hosts), platform_identity())
        found = []
        for resource in wanted.values():
            mine = sorted(
                (c for c in certs if c["DomainName"] == resource.name and c["Tags"].get("Name") == resource.name),
                key=rank,
            )
            if not mine:
                continue
            cert, attached = mine[0], self.attached(obs, mine[0], resource)
            record = validation_record(cert)
            zone = resource.body.get("validation_zone", "")
            validated = bool(zone_id(obs, zone)) and validation_in_zone(zone_records(obs, zone_id(obs, zone)), record)
            body = {
                "domain_name": cert["DomainName"],
                "validation_zone": zone if validated else None,
                "listener": attached[0] if attached else None,
                "status": cert.get("Status"),
                "tags": cert["Tags"],
            }
            observed = aws(PLATFORM_CERTIFICATE, resource.name, body, namespace=resource.namespace)
            obs.outputs[observed.key] = {"arn": cert["CertificateArn"], "listener_arn": attached[1] if attached else ""}
            found.append(observed)
        return found

    def attached(self, obs: Observation, cert: dict[str, Any], resource: Resource) -> tuple[dict[str, Any], str] | None:
        """The listener (declared shape, ARN) among the declared one and each level's HTTPS listener that holds it."""
        declared = resource.body.get("listener") or {}
        port = declared.get("port", 443)
        candidates = [declared] if declared else []
        candidates += [
            {"load_balancer": alb_name(obs.ctx.platform.cluster_name, level), "port": port} for level in EXPOSED_LEVELS
        ]
        for listener in candidates:
            arn = listener_arn(obs, listener)
            if arn and cert["CertificateArn"] in listener_certificates(obs, arn):
                return listener, arn
        return None


class PlatformRecordReader:
    kind = PLATFORM_RECORD

    def observe(self, obs: Observation, desired: list[Resource], recorded: list[Resource]) -> list[Resource]:
        """Each host's alias A record in its zone, the load balancer it points at named when it is the platform's."""
        wanted = {r.key: r for r in (*recorded, *desired)}
        if not wanted:
            return []  # a service's scope: no platform host to read, nor the load balancers they point at
        cluster = obs.ctx.platform.cluster_name
        albs = {}
        for level in EXPOSED_LEVELS:
            if (alb := load_balancer(obs, alb_name(cluster, level))) is not None:
                albs[alb["DNSName"].lower()] = alb["LoadBalancerName"]
        found = []
        for resource in wanted.values():
            zone = resource.body.get("zone", "")
            zone_id_found = zone_id(obs, zone) if zone else ""
            records = zone_records(obs, zone_id_found) if zone_id_found else {}
            alias = alias_of(records.get((resource.name, "A")))
            if not alias:
                continue
            owner = parse_owner(records.get((record_owner_name(resource.name), "TXT")))
            body = {"zone": zone, "load_balancer": albs.get(alias["dns_name"], alias["dns_name"]), "tags": owner}
            observed = aws(PLATFORM_RECORD, resource.name, body, namespace=resource.namespace)
            obs.outputs[observed.key] = {"zone_id": zone_id_found, "alias_dns_name": alias["dns_name"]}
            found.append(observed)
        return found
