"""The local sandbox only: what real AWS already has before the portal arrives, made in moto's server.

A VPC with two subnets in two zones, the security group of the cluster's nodes, and the EKS cluster. Found by
their names and the platform's tags first, so a second run creates nothing. The caller puts the ids into the
platform settings, as an SRE would enter a real platform's; the platform scope then builds on them.
"""

import ipaddress
from dataclasses import dataclass

from ...aws.context import AwsContext, tag_list
from ...errors import PermanentError
from ...names import (
    OWNER_PLATFORM,
    TAG_OWNER,
    arn_partition,
    platform_tags,
    sandbox_nodes_group_name,
    sandbox_vpc_name,
)
from ...observed.aws.ec2 import find_group
from ...observed.aws.eks import describe_cluster

VPC_CIDR = "10.80.0.0/16"
SUBNETS = 2


@dataclass(frozen=True)
class SandboxNetwork:
    """The ids the platform settings need from the network (``vpc_id``, ``subnet_ids``, ``node_security_group_id``)."""

    vpc_id: str
    subnet_ids: tuple[str, ...]
    node_security_group_id: str


def sandbox_network(ctx: AwsContext) -> SandboxNetwork:
    """Find or create the sandbox's VPC, subnets, nodes' security group and EKS cluster."""
    if not ctx.sandbox:
        raise PermanentError(
            "the sandbox network is made only in the local AWS sandbox (AWS_ENDPOINT_URL); on real AWS enter the "
            "VPC, subnets and the nodes' security group in the platform settings",
            code="NotASandbox",
        )
    cluster = ctx.platform.cluster_name
    vpc_id = vpc(ctx, sandbox_vpc_name(cluster))
    subnet_ids = subnets(ctx, vpc_id, sandbox_vpc_name(cluster))
    nodes = nodes_group(ctx, vpc_id, sandbox_nodes_group_name(cluster))
    if describe_cluster(ctx, cluster) is None:
        role = f"arn:{arn_partition(ctx.region)}:iam::{ctx.account_id}:role/portal-{cluster}-eks"
        ctx.client("eks").create_cluster(
            name=cluster,
            roleArn=role,
            resourcesVpcConfig={"subnetIds": list(subnet_ids), "securityGroupIds": [nodes]},
            tags=platform_tags(cluster),
        )
    return SandboxNetwork(vpc_id=vpc_id, subnet_ids=subnet_ids, node_security_group_id=nodes)


def vpc(ctx: AwsContext, name: str) -> str:
    ec2 = ctx.client("ec2")
    filters = [{"Name": "tag:Name", "Values": [name]}, {"Name": f"tag:{TAG_OWNER}", "Values": [OWNER_PLATFORM]}]
    found = ec2.describe_vpcs(Filters=filters)["Vpcs"]
    if found:
        return found[0]["VpcId"]
    spec = [{"ResourceType": "vpc", "Tags": tag_list(platform_tags(name))}]
    return ec2.create_vpc(CidrBlock=VPC_CIDR, TagSpecifications=spec)["Vpc"]["VpcId"]


def subnets(ctx: AwsContext, vpc_id: str, name: str) -> tuple[str, ...]:
    """Two subnets in two availability zones (an ALB needs that many)."""
    ec2 = ctx.client("ec2")
    found = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    taken = {s["AvailabilityZone"] for s in found}
    used = {s["CidrBlock"] for s in found}
    blocks = (str(b) for b in ipaddress.ip_network(VPC_CIDR).subnets(new_prefix=24) if str(b) not in used)
    zones = ec2.describe_availability_zones(Filters=[{"Name": "state", "Values": ["available"]}])["AvailabilityZones"]
    for zone in [z["ZoneName"] for z in zones if z["ZoneName"] not in taken][: max(0, SUBNETS - len(found))]:
        spec = [{"ResourceType": "subnet", "Tags": tag_list(platform_tags(f"{name}-{zone}"))}]
        created = ec2.create_subnet(VpcId=vpc_id, CidrBlock=next(blocks), AvailabilityZone=zone, TagSpecifications=spec)
        found.append(created["Subnet"])
    return tuple(sorted(s["SubnetId"] for s in found))


def nodes_group(ctx: AwsContext, vpc_id: str, name: str) -> str:
    group = find_group(ctx, name, vpc_id)
    if group is not None:
        return group["GroupId"]
    return ctx.client("ec2").create_security_group(
        GroupName=name,
        Description="the cluster's nodes (sandbox)",
        VpcId=vpc_id,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": tag_list(platform_tags(name))}],
    )["GroupId"]
