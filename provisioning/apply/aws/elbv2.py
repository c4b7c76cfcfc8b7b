"""Elastic Load Balancing writes: each level's target group, ALB and listeners.

A piece found by name is adopted only when it carries the platform's tags; what AWS cannot change in place (a
target group's protocol, port, VPC or target type; an ALB's scheme or type) fails the step with what to do.
What it can is changed in place: a target group's health check, an ALB's security groups and subnets, a
listener's protocol, policy, certificate and default action. Each write happens only when the current state,
read the way the plan reads it, differs.
"""

from typing import Any

from ...aws.context import AwsContext, has_tags, tag_list
from ...aws.kinds import LISTENER, LOAD_BALANCER, TARGET_GROUP
from ...diff import declared_diff
from ...errors import PermanentError
from ...names import default_certificate_name, platform_identity, platform_tags
from ...observed.aws.ec2 import find_group
from ...observed.aws.elbv2 import (
    ListenerReader,
    LoadBalancerReader,
    TargetGroupReader,
    find_listeners,
    find_load_balancer,
    find_target_group,
)
from ...observed.aws.observation import Observation
from ...observed.aws.route53 import hosted_zone, zone_id_of
from ...resources import Resource
from .acm import ensure_certificate
from .adoption import claim, may_create, require_subnets, require_vpc


def current_body(reader: Any, ctx: AwsContext, resource: Resource) -> dict[str, Any] | None:
    """The resource as the plan would observe it now (None when it does not exist)."""
    found = reader.observe(Observation(ctx), [resource], [])
    return found[0].body if found else None


def changed(resource: Resource, current: dict[str, Any], *fields: str) -> bool:
    return bool(declared_diff({f: resource.body[f] for f in fields}, current))


def immutable(resource: Resource, current: dict[str, Any], fields: tuple[str, ...], remedy: str, code: str) -> None:
    differences = declared_diff({f: resource.body[f] for f in fields}, current)
    if differences:
        found = ", ".join(f"{d.path} {d.old!r} (declared {d.new!r})" for d in differences)
        raise PermanentError(f"{resource.label()} exists with {found}, which AWS cannot change: {remedy}", code=code)


def add_tags(ctx: AwsContext, arn: str, current: dict[str, str], wanted: dict[str, str]) -> None:
    if not has_tags(current, wanted):
        ctx.client("elbv2").add_tags(ResourceArns=[arn], Tags=tag_list(wanted))


class TargetGroupWriter:
    kind = TARGET_GROUP

    def apply(self, ctx: AwsContext, resource: Resource) -> dict[str, Any]:
        body, elbv2 = resource.body, ctx.client("elbv2")
        health = body["health_check"]
        group = find_target_group(ctx, resource.name)
        if group is None:
            may_create(ctx, resource.label())
            group = elbv2.create_target_group(
                Name=resource.name,
                Protocol=body["protocol"],
                Port=body["port"],
                VpcId=require_vpc(body["vpc_id"], resource.label()),
                TargetType=body["target_type"],
                HealthCheckProtocol=health["protocol"],
                HealthCheckPath=health["path"],
                Matcher={"HttpCode": health["matcher"]},
                Tags=tag_list(body["tags"]),
            )["TargetGroups"][0]
            return {"external_id": group["TargetGroupArn"], "outputs": {"arn": group["TargetGroupArn"]}}
        arn = group["TargetGroupArn"]
        current = current_body(TargetGroupReader(), ctx, resource) or {}
        claim(current.get("tags", {}), resource.label())
        immutable(
            resource,
            current,
            ("protocol", "port", "vpc_id", "target_type"),
            "delete it (and the listener forwarding to it) and apply the platform again",
            "TargetGroupProtocolMismatch",
        )
        if changed(resource, current, "health_check"):
            elbv2.modify_target_group(
                TargetGroupArn=arn,
                HealthCheckProtocol=health["protocol"],
                HealthCheckPath=health["path"],
                Matcher={"HttpCode": health["matcher"]},
            )
        add_tags(ctx, arn, current.get("tags", {}), body["tags"])
        return {"external_id": arn, "outputs": {"arn": arn}}

    def delete(self, ctx: AwsContext, resource: Resource) -> None:
        group = find_target_group(ctx, resource.name)
        if group is not None:
            ctx.client("elbv2").delete_target_group(TargetGroupArn=group["TargetGroupArn"])


class LoadBalancerWriter:
    kind = LOAD_BALANCER

    def apply(self, ctx: AwsContext, resource: Resource) -> dict[str, Any]:
        body, elbv2, what = resource.body, ctx.client("elbv2"), resource.label()
        groups = self.group_ids(ctx, resource)
        alb = find_load_balancer(ctx, resource.name)
        if alb is None:
            may_create(ctx, what)
            alb = elbv2.create_load_balancer(
                Name=resource.name,
                Subnets=require_subnets(body["subnets"], what),
                SecurityGroups=groups,
                Scheme=body["scheme"],
                Type=body["type"],
                IpAddressType="ipv4",
                Tags=tag_list(body["tags"]),
            )["LoadBalancers"][0]
            return self.result(alb)
        arn = alb["LoadBalancerArn"]
        current = current_body(LoadBalancerReader(), ctx, resource) or {}
        claim(current.get("tags", {}), what)
        immutable(
            resource,
            current,
            ("scheme", "type"),
            "delete it and apply the platform again (its DNS name changes: services' records follow)",
            "LoadBalancerSchemeMismatch",
        )
        if changed(resource, current, "security_groups"):
            elbv2.set_security_groups(LoadBalancerArn=arn, SecurityGroups=groups)
        if changed(resource, current, "subnets"):
            elbv2.set_subnets(LoadBalancerArn=arn, Subnets=require_subnets(body["subnets"], what))
        add_tags(ctx, arn, current.get("tags", {}), body["tags"])
        return self.result(alb)

    def group_ids(self, ctx: AwsContext, resource: Resource) -> list[str]:
        ids = []
        for name in resource.body["security_groups"]:
            group = find_group(ctx, name, ctx.platform.vpc_id)
            if group is None:
                raise PermanentError(
                    f"{resource.label()}: its security group {name} does not exist yet; apply the platform scope's "
                    "security groups first",
                    code="SecurityGroupNotFound",
                )
            ids.append(group["GroupId"])
        return ids

    def result(self, alb: dict[str, Any]) -> dict[str, Any]:
        outputs = {
            "arn": alb["LoadBalancerArn"],
            "dns_name": alb["DNSName"].lower(),
            "canonical_hosted_zone_id": alb["CanonicalHostedZoneId"],
        }
        return {"external_id": alb["LoadBalancerArn"], "outputs": outputs}

    def delete(self, ctx: AwsContext, resource: Resource) -> None:
        alb = find_load_balancer(ctx, resource.name)
        if alb is not None:
            ctx.client("elbv2").delete_load_balancer(LoadBalancerArn=alb["LoadBalancerArn"])


class ListenerWriter:
    kind = LISTENER

    def apply(self, ctx: AwsContext, resource: Resource) -> dict[str, Any]:
        body, elbv2, what = resource.body, ctx.client("elbv2"), resource.label()
        alb = find_load_balancer(ctx, body["load_balancer"])
        if alb is None:
            raise PermanentError(
                f"{what}: its load balancer {body['load_balancer']} does not exist yet; apply it first",
                code="LoadBalancerNotFound",
            )
        listener = self.find(ctx, alb["LoadBalancerArn"], body["port"])
        if listener is None:
            may_create(ctx, what)
            listener = elbv2.create_listener(
                LoadBalancerArn=alb["LoadBalancerArn"], Tags=tag_list(body["tags"]), **self.config(ctx, resource)
            )["Listeners"][0]
            return {"external_id": listener["ListenerArn"], "outputs": {"arn": listener["ListenerArn"]}}
        arn = listener["ListenerArn"]
        current = current_body(ListenerReader(), ctx, resource) or {}
        claim(current.get("tags", {}), what)
        if declared_diff({k: v for k, v in body.items() if k != "tags"}, current):
            elbv2.modify_listener(ListenerArn=arn, **self.config(ctx, resource))
        add_tags(ctx, arn, current.get("tags", {}), body["tags"])
        return {"external_id": arn, "outputs": {"arn": arn}}

    def find(self, ctx: AwsContext, alb_arn: str, port: int) -> dict[str, Any] | None:
        return next((item for item in find_listeners(ctx, alb_arn) if item.get("Port") == port), None)

    def config(self, ctx: AwsContext, resource: Resource) -> dict[str, Any]:
        """The listener's protocol, port, default action and, for HTTPS, its policy and default certificate."""
        body = resource.body
        config: dict[str, Any] = {
            "Protocol": body["protocol"],
            "Port": body["port"],
            "DefaultActions": [self.action(ctx, resource)],
        }
        if "default_certificate" in body:
            arn = self.default_certificate(ctx, resource)
            config |= {"SslPolicy": body["ssl_policy"], "Certificates": [{"CertificateArn": arn}]}
        return config

    def action(self, ctx: AwsContext, resource: Resource) -> dict[str, Any]:
        action = resource.body["default_action"]
        if action["type"] == "redirect":
            redirect = {"Protocol": action["protocol"], "Port": action["port"], "StatusCode": action["status_code"]}
            return {"Type": "redirect", "RedirectConfig": redirect}
        group = find_target_group(ctx, action["target_group"])
        if group is None:
            raise PermanentError(
                f"{resource.label()}: its target group {action['target_group']} does not exist yet; apply it first",
                code="TargetGroupNotFound",
            )
        return {"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}

    def default_certificate(self, ctx: AwsContext, resource: Resource) -> str:
        """The zone apex's certificate, found by the platform's tags or requested and validated in the zone."""
        domain = resource.body["default_certificate"]["domain"]
        zone = hosted_zone(ctx, domain)
        if zone is None:
            raise PermanentError(
                f"{resource.label()}: no hosted zone {domain} to validate its default certificate in; apply the "
                "platform's zones first",
                code="HostedZoneNotFound",
            )
        cluster = ctx.platform.cluster_name
        cert = ensure_certificate(
            ctx,
            domain,
            zone_id_of(zone),
            platform_tags(default_certificate_name(cluster, resource.namespace)),
            platform_identity(),
            seed=f"platform|{cluster}|{domain}",
        )
        return cert["CertificateArn"]

    def delete(self, ctx: AwsContext, resource: Resource) -> None:
        alb = find_load_balancer(ctx, resource.body.get("load_balancer", ""))
        listener = self.find(ctx, alb["LoadBalancerArn"], resource.body.get("port")) if alb else None
        if listener is not None:
            ctx.client("elbv2").delete_listener(ListenerArn=listener["ListenerArn"])
