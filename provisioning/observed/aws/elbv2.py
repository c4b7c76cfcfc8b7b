"""Elastic Load Balancing as the portal sees it: each level's ALB, its target group and listeners.

ARNs are reported as the names the builder declares (a listener's load balancer, the target group it forwards
to, the ALB's security groups); a listener is identified by its port on its ALB.
"""

from typing import Any

from botocore.exceptions import ClientError

from ...aws.context import AwsContext, tag_dict
from ...aws.errors import is_code
from ...aws.kinds import LISTENER, LOAD_BALANCER, TARGET_GROUP
from ...resources import Resource, aws
from .acm import describe
from .ec2 import security_group
from .observation import Observation

# DescribeTags takes at most 20 ARNs.
ARNS_PER_CALL = 20


def find_target_group(ctx: AwsContext, name: str) -> dict[str, Any] | None:
    try:
        return ctx.client("elbv2").describe_target_groups(Names=[name])["TargetGroups"][0]
    except ClientError as exc:
        if is_code(exc, "TargetGroupNotFound"):
            return None
        raise


def find_load_balancer(ctx: AwsContext, name: str) -> dict[str, Any] | None:
    try:
        return ctx.client("elbv2").describe_load_balancers(Names=[name])["LoadBalancers"][0]
    except ClientError as exc:
        if is_code(exc, "LoadBalancerNotFound"):
            return None
        raise


def find_listeners(ctx: AwsContext, alb_arn: str) -> list[dict[str, Any]]:
    elbv2, found = ctx.client("elbv2"), []
    kwargs: dict[str, Any] = {"LoadBalancerArn": alb_arn}
    while True:
        try:
            page = elbv2.describe_listeners(**kwargs)
        except ClientError as exc:
            if is_code(exc, "LoadBalancerNotFound"):
                return found  # the ALB is gone, and its listeners with it
            raise
        found.extend(page.get("Listeners", []))
        if not page.get("NextMarker"):
            return found
        kwargs["Marker"] = page["NextMarker"]


def describe_tags(ctx: AwsContext, arns: list[str]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for start in range(0, len(arns), ARNS_PER_CALL):
        described = ctx.client("elbv2").describe_tags(ResourceArns=arns[start : start + ARNS_PER_CALL])
        found |= {item["ResourceArn"]: tag_dict(item.get("Tags")) for item in described["TagDescriptions"]}
    return found


def target_group(obs: Observation, name: str) -> dict[str, Any] | None:
    return obs.once(("elbv2.target_group", name), find_target_group, obs.ctx, name)


def load_balancer(obs: Observation, name: str) -> dict[str, Any] | None:
    return obs.once(("elbv2.load_balancer", name), find_load_balancer, obs.ctx, name)


def listeners(obs: Observation, alb_arn: str) -> list[dict[str, Any]]:
    return obs.once(("elbv2.listeners", alb_arn), find_listeners, obs.ctx, alb_arn)


def tags(obs: Observation, arns: list[str]) -> dict[str, dict[str, str]]:
    """The tags of these ARNs; those not read yet in as few calls as AWS allows."""
    missing = [arn for arn in arns if ("elbv2.tags", arn) not in obs.cache]
    obs.cache.update({("elbv2.tags", arn): found for arn, found in describe_tags(obs.ctx, missing).items()})
    return {arn: obs.cache.get(("elbv2.tags", arn), {}) for arn in arns}


def name_in_arn(arn: str) -> str:
    """ELBv2 ARNs end in ``<name>/<id>``."""
    return arn.rsplit("/", 2)[-2]


def action_body(action: dict[str, Any]) -> dict[str, Any]:
    """A listener's default action as the builder declares it."""
    if action.get("Type") == "forward":
        arn = action.get("TargetGroupArn") or next(
            (g["TargetGroupArn"] for g in (action.get("ForwardConfig") or {}).get("TargetGroups", [])), ""
        )
        return {"type": "forward", "target_group": name_in_arn(arn) if arn else None}
    if action.get("Type") == "redirect":
        redirect = action.get("RedirectConfig") or {}
        return {
            "type": "redirect",
            "protocol": redirect.get("Protocol"),
            "port": redirect.get("Port"),
            "status_code": redirect.get("StatusCode"),
        }
    return {"type": action.get("Type")}


class TargetGroupReader:
    kind = TARGET_GROUP

    def observe(self, obs: Observation, desired: list[Resource], recorded: list[Resource]) -> list[Resource]:
        wanted = {r.key: r for r in (*recorded, *desired)}.values()
        groups = {r.key: (r, group) for r in wanted if (group := target_group(obs, r.name)) is not None}
        found_tags = tags(obs, [group["TargetGroupArn"] for _, group in groups.values()])
        found = []
        for resource, group in groups.values():
            body = {
                "protocol": group.get("Protocol"),
                "port": group.get("Port"),
                "vpc_id": group.get("VpcId"),
                "target_type": group.get("TargetType"),
                "health_check": {
                    "protocol": group.get("HealthCheckProtocol"),
                    "path": group.get("HealthCheckPath"),
                    "matcher": (group.get("Matcher") or {}).get("HttpCode"),
                },
                "tags": found_tags[group["TargetGroupArn"]],
            }
            observed = aws(TARGET_GROUP, resource.name, body, namespace=resource.namespace)
            obs.outputs[observed.key] = {"arn": group["TargetGroupArn"]}
            found.append(observed)
        return found


class LoadBalancerReader:
    kind = LOAD_BALANCER

    def observe(self, obs: Observation, desired: list[Resource], recorded: list[Resource]) -> list[Resource]:
        wanted = {r.key: r for r in (*recorded, *desired)}.values()
        albs = {r.key: (r, alb) for r in wanted if (alb := load_balancer(obs, r.name)) is not None}
        found_tags = tags(obs, [alb["LoadBalancerArn"] for _, alb in albs.values()])
        found = []
        for resource, alb in albs.values():
            group_names = {}
            for name in resource.body.get("security_groups", []):
                if (group := security_group(obs, name, alb.get("VpcId", ""))) is not None:
                    group_names[group["GroupId"]] = name
            body = {
                "scheme": alb.get("Scheme"),
                "type": alb.get("Type"),
                "subnets": sorted(zone["SubnetId"] for zone in alb.get("AvailabilityZones", [])),
                "security_groups": sorted(group_names.get(g, g) for g in alb.get("SecurityGroups", [])),
                "tags": found_tags[alb["LoadBalancerArn"]],
            }
            observed = aws(LOAD_BALANCER, resource.name, body, namespace=resource.namespace)
            obs.outputs[observed.key] = {
                "arn": alb["LoadBalancerArn"],
                "dns_name": alb["DNSName"].lower(),
                "canonical_hosted_zone_id": alb["CanonicalHostedZoneId"],
            }
            found.append(observed)
        return found


class ListenerReader:
    kind = LISTENER

    def observe(self, obs: Observation, desired: list[Resource], recorded: list[Resource]) -> list[Resource]:
        """Each declared listener: the one on its port of its load balancer."""
        pairs = []
        for resource in {r.key: r for r in (*recorded, *desired)}.values():
            alb = load_balancer(obs, resource.body.get("load_balancer", ""))
            current = listeners(obs, alb["LoadBalancerArn"]) if alb else []
            listener = next((item for item in current if item.get("Port") == resource.body.get("port")), None)
            if listener is not None:
                pairs.append((resource, listener))
        found_tags = tags(obs, [listener["ListenerArn"] for _, listener in pairs])
        found = []
        for resource, listener in pairs:
            body: dict[str, Any] = {
                "load_balancer": name_in_arn(listener["LoadBalancerArn"]),
                "protocol": listener.get("Protocol"),
                "port": listener.get("Port"),
            }
            if listener.get("Protocol") == "HTTPS":
                body["ssl_policy"] = listener.get("SslPolicy")
                body["default_certificate"] = self.default_certificate(obs, listener)
            actions = listener.get("DefaultActions") or [{}]
            body |= {"default_action": action_body(actions[0]), "tags": found_tags[listener["ListenerArn"]]}
            observed = aws(LISTENER, resource.name, body, namespace=resource.namespace)
            obs.outputs[observed.key] = {"arn": listener["ListenerArn"]}
            found.append(observed)
        return found

    def default_certificate(self, obs: Observation, listener: dict[str, Any]) -> dict[str, Any]:
        arns = [c["CertificateArn"] for c in listener.get("Certificates") or [] if c.get("CertificateArn")]
        cert = obs.once(("acm.certificate", arns[0]), describe, obs.ctx, arns[0]) if arns else None
        return {"domain": (cert or {}).get("DomainName"), "status": (cert or {}).get("Status")}
