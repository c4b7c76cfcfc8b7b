"""EC2 security groups as the portal sees them: each ALB's own group with all its ingress rules, and the one rule
on the nodes' group that admits an ALB's group.

Rules are reported one per (protocol, port, source), the way the builder declares them, so a rule added or
removed by hand shows as a changed list. A source group is reported by its name when the portal knows it.
"""

from typing import Any

from ...aws.context import AwsContext, tag_dict
from ...aws.kinds import SECURITY_GROUP, SECURITY_GROUP_INGRESS
from ...resources import Resource, aws, canonical_order
from .observation import Observation


def describe_groups(ctx: AwsContext, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    paginator = ctx.client("ec2").get_paginator("describe_security_groups")
    return [group for page in paginator.paginate(Filters=filters) for group in page.get("SecurityGroups", [])]


def find_group(ctx: AwsContext, name: str, vpc_id: str) -> dict[str, Any] | None:
    """A group by name, in the VPC when one is given (names are unique per VPC)."""
    filters = [{"Name": "group-name", "Values": [name]}]
    if vpc_id:
        filters.append({"Name": "vpc-id", "Values": [vpc_id]})
    groups = describe_groups(ctx, filters)
    return groups[0] if groups else None


def find_group_by_id(ctx: AwsContext, group_id: str) -> dict[str, Any] | None:
    groups = describe_groups(ctx, [{"Name": "group-id", "Values": [group_id]}])
    return groups[0] if groups else None


def security_group(obs: Observation, name: str, vpc_id: str) -> dict[str, Any] | None:
    return obs.once(("ec2.group", name, vpc_id), find_group, obs.ctx, name, vpc_id)


def security_group_by_id(obs: Observation, group_id: str) -> dict[str, Any] | None:
    return obs.once(("ec2.group_id", group_id), find_group_by_id, obs.ctx, group_id)


def port_of(permission: dict[str, Any]) -> int | str | None:
    """A permission's port: one number, a ``from-to`` range, or None for all traffic."""
    low, high = permission.get("FromPort"), permission.get("ToPort")
    if low is None or low == -1:
        return None
    return low if low == high else f"{low}-{high}"


def protocol_of(permission: dict[str, Any]) -> str:
    protocol = permission.get("IpProtocol", "-1")
    return "all" if protocol == "-1" else protocol


def ingress_rules(
    group: dict[str, Any], group_names: dict[str, str], *, descriptions: bool = False
) -> list[dict[str, Any]]:
    """Every ingress rule of a group, one per (protocol, port, source), in the builders' order; with
    ``descriptions`` each keeps its description (a writer revoking it repeats it: moto matches on it)."""
    rules = []
    for permission in group.get("IpPermissions", []):
        head = {"protocol": protocol_of(permission), "port": port_of(permission)}
        sources = [({"cidr": r["CidrIp"]}, r) for r in permission.get("IpRanges", [])]
        sources += [({"cidr": r["CidrIpv6"]}, r) for r in permission.get("Ipv6Ranges", [])]
        sources += [
            ({"source_security_group": group_names.get(pair["GroupId"], pair["GroupId"])}, pair)
            for pair in permission.get("UserIdGroupPairs", [])
        ]
        sources += [({"prefix_list": p["PrefixListId"]}, p) for p in permission.get("PrefixListIds", [])]
        for source, raw in sources:
            note = {"description": raw["Description"]} if descriptions and raw.get("Description") else {}
            rules.append({**head, **source, **note})
    return canonical_order(rules)


class SecurityGroupReader:
    kind = SECURITY_GROUP

    def observe(self, obs: Observation, desired: list[Resource], recorded: list[Resource]) -> list[Resource]:
        """The ALBs' groups by name in the platform's VPC."""
        found = []
        for resource in {r.key: r for r in (*recorded, *desired)}.values():
            group = security_group(obs, resource.name, resource.body.get("vpc_id", ""))
            if group is None:
                continue
            body = {
                "vpc_id": group.get("VpcId", ""),
                "ingress": ingress_rules(group, {group["GroupId"]: group["GroupName"]}),
                "tags": tag_dict(group.get("Tags")),
            }
            observed = aws(SECURITY_GROUP, resource.name, body, namespace=resource.namespace)
            obs.outputs[observed.key] = {"group_id": group["GroupId"]}
            found.append(observed)
        return found


class SecurityGroupIngressReader:
    kind = SECURITY_GROUP_INGRESS

    def observe(self, obs: Observation, desired: list[Resource], recorded: list[Resource]) -> list[Resource]:
        """The rule on a group (the namespace) admitting a source group (the name): the one on the declared port
        when there is one, else the first."""
        found = []
        for resource in {r.key: r for r in (*recorded, *desired)}.values():
            target = security_group_by_id(obs, resource.namespace) if resource.namespace else None
            source = security_group(obs, resource.name, target.get("VpcId", "")) if target else None
            if target is None or source is None:
                continue
            rules = [
                rule
                for rule in ingress_rules(target, {source["GroupId"]: source["GroupName"]})
                if rule.get("source_security_group") == resource.name
            ]
            if not rules:
                continue
            wanted = {key: resource.body.get(key) for key in ("protocol", "port")}
            rule = next((r for r in rules if {key: r[key] for key in wanted} == wanted), rules[0])
            found.append(aws(SECURITY_GROUP_INGRESS, resource.name, rule, namespace=resource.namespace))
        return found
