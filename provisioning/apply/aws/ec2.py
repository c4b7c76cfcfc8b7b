"""EC2 writes: each ALB's own security group with exactly its declared ingress rules, and the rule on the nodes'
group that admits an ALB's group on the gateway's NodePort.

Only the difference is written: one AuthorizeSecurityGroupIngress for the rules missing, one
RevokeSecurityGroupIngress for the rules nobody declared. Egress stays as EC2 makes it (everything), which the
ALB needs to reach the nodes.
"""

from typing import Any

from botocore.exceptions import ClientError

from ...aws.context import AwsContext, has_tags, tag_dict, tag_list
from ...aws.errors import is_code
from ...aws.kinds import SECURITY_GROUP, SECURITY_GROUP_INGRESS
from ...errors import PermanentError, TemporaryError
from ...observed.aws.ec2 import find_group, find_group_by_id, ingress_rules
from ...resources import Resource
from .adoption import claim, may_create, require_vpc


def permission(rule: dict[str, Any], group_ids: dict[str, str], description: str = "") -> dict[str, Any]:
    """One rule as an EC2 IP permission (source groups given by name are looked up in ``group_ids``)."""
    perm: dict[str, Any] = {"IpProtocol": "-1" if rule["protocol"] == "all" else rule["protocol"]}
    if rule["port"] is not None:
        low, _, high = str(rule["port"]).partition("-")
        perm |= {"FromPort": int(low), "ToPort": int(high or low)}
    note = {"Description": description} if description else {}
    if "cidr" in rule:
        key, inner = ("Ipv6Ranges", "CidrIpv6") if ":" in rule["cidr"] else ("IpRanges", "CidrIp")
        perm[key] = [{inner: rule["cidr"], **note}]
    elif "source_security_group" in rule:
        source = rule["source_security_group"]
        perm["UserIdGroupPairs"] = [{"GroupId": group_ids.get(source, source), **note}]
    else:
        perm["PrefixListIds"] = [{"PrefixListId": rule["prefix_list"], **note}]
    return perm


def without_description(rule: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in rule.items() if key != "description"}


def converge_rules(
    ctx: AwsContext,
    group_id: str,
    current: list[dict[str, Any]],
    wanted: list[dict[str, Any]],
    group_ids: dict[str, str],
    description: str,
) -> None:
    """Authorize what is missing and revoke what is extra, one call each at most. ``current`` keeps each rule's
    description, which a revoke repeats."""
    ec2 = ctx.client("ec2")
    missing = [rule for rule in wanted if rule not in [without_description(r) for r in current]]
    extra = [rule for rule in current if without_description(rule) not in wanted]
    if missing:
        ec2.authorize_security_group_ingress(
            GroupId=group_id, IpPermissions=[permission(rule, group_ids, description) for rule in missing]
        )
    if extra:
        ec2.revoke_security_group_ingress(
            GroupId=group_id,
            IpPermissions=[permission(rule, group_ids, rule.get("description", "")) for rule in extra],
        )


class SecurityGroupWriter:
    kind = SECURITY_GROUP

    def apply(self, ctx: AwsContext, resource: Resource) -> dict[str, Any]:
        body, name, what = resource.body, resource.name, resource.label()
        vpc_id = require_vpc(body["vpc_id"], what)
        ec2 = ctx.client("ec2")
        group = find_group(ctx, name, vpc_id)
        if group is None:
            may_create(ctx, what)
            group_id = ec2.create_security_group(
                GroupName=name,
                Description=f"platform portal: the {resource.namespace} load balancer",
                VpcId=vpc_id,
                TagSpecifications=[{"ResourceType": "security-group", "Tags": tag_list(body["tags"])}],
            )["GroupId"]
            current: list[dict[str, Any]] = []
        else:
            group_id, tags = group["GroupId"], tag_dict(group.get("Tags"))
            claim(tags, what)
            if not has_tags(tags, body["tags"]):
                ec2.create_tags(Resources=[group_id], Tags=tag_list(body["tags"]))
            current = ingress_rules(group, {group_id: name}, descriptions=True)
        converge_rules(ctx, group_id, current, body["ingress"], {name: group_id}, f"platform portal: {name}")
        return {"external_id": group_id, "outputs": {"group_id": group_id}}

    def delete(self, ctx: AwsContext, resource: Resource) -> None:
        group = find_group(ctx, resource.name, resource.body.get("vpc_id", ""))
        if group is None:
            return
        try:
            ctx.client("ec2").delete_security_group(GroupId=group["GroupId"])
        except ClientError as exc:
            if not is_code(exc, "DependencyViolation"):
                raise
            # A deleted ALB's network interfaces keep the group for a few minutes.
            raise TemporaryError(
                f"{resource.label()} is still in use (a load balancer's network interfaces linger for minutes after "
                "it is deleted); the run will try again",
                code="DependencyViolation",
            ) from exc


class SecurityGroupIngressWriter:
    kind = SECURITY_GROUP_INGRESS

    def apply(self, ctx: AwsContext, resource: Resource) -> dict[str, Any]:
        target, source = self.groups(ctx, resource)
        if target is None:
            raise PermanentError(
                f"{resource.label()}: there is no security group {resource.namespace} (node_security_group_id in "
                "the platform settings)",
                code="SecurityGroupNotFound",
            )
        if source is None:
            raise PermanentError(
                f"{resource.label()}: the security group {resource.name} does not exist yet; apply the platform "
                "scope's security groups first",
                code="SecurityGroupNotFound",
            )
        current = self.rules_from_source(target, source, resource.name)
        converge_rules(
            ctx,
            target["GroupId"],
            current,
            [resource.body],
            {resource.name: source["GroupId"]},
            f"platform portal: the {resource.name} load balancer to the ingress gateway",
        )
        return {"external_id": f"{target['GroupId']}/{source['GroupId']}"}

    def delete(self, ctx: AwsContext, resource: Resource) -> None:
        target, source = self.groups(ctx, resource)
        if target is None or source is None:
            return
        current = self.rules_from_source(target, source, resource.name)
        converge_rules(ctx, target["GroupId"], current, [], {resource.name: source["GroupId"]}, "")

    def rules_from_source(self, target: dict[str, Any], source: dict[str, Any], name: str) -> list[dict[str, Any]]:
        rules = ingress_rules(target, {source["GroupId"]: name}, descriptions=True)
        return [rule for rule in rules if rule.get("source_security_group") == name]

    def groups(self, ctx: AwsContext, resource: Resource) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The group the rule is on (the namespace) and the group it admits (the name), in the same VPC."""
        if not resource.namespace:
            raise PermanentError(
                f"{resource.label()}: set the security group of the cluster's nodes in the platform settings "
                "(node_security_group_id)",
                code="NodeSecurityGroupNotConfigured",
            )
        target = find_group_by_id(ctx, resource.namespace)
        source = find_group(ctx, resource.name, target.get("VpcId", "")) if target else None
        return target, source
