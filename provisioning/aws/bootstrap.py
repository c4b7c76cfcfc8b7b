"""Platform bootstrap: the shared AWS pieces every exposed service relies on (DESIGN §2, §3, §16).

Per exposure level: a hosted zone, an ALB (internet-facing or internal) with one target group for the Istio
ingress gateway's NodePort and an HTTPS listener, and a WAFv2 web ACL associated with the ALB. External: AWS
managed SQLi and common-attack (XSS, LFI, ...) rule groups and a rate-based rule; internal: only the corp
CIDRs (an IP set) are allowed, everything else is blocked. The ALB terminates the client's TLS and re-encrypts
to the gateway (seed §17), so the target group speaks HTTPS; the platform layer's TargetGroupBinding keeps its
members (the nodes, on the gateway's NodePort) current.

The EKS cluster's control-plane logs (api, audit, authenticator) go to CloudWatch Logs, in the log group EKS
uses, with the platform's retention.

Idempotent: everything is looked up by name (and the ``portal:*`` tags) first and adopted, created when
missing (ALBs and WAF pieces only while ``create_load_balancers`` is set), and updated only when it differs,
so a second run makes no write. Against real AWS the hosted zones and the network must exist (``vpc_id``,
``subnet_ids``); both zones must be public, because ACM validates certificates through public DNS (the
internal zone's records point at the internal ALB, whose addresses are private). In the sandbox
(``AWS_ENDPOINT_URL`` set) bootstrap creates the zones and a network too, as real AWS would already have
them. What it found goes into the platform settings.
"""

import ipaddress
import logging
import os
from typing import Any

from botocore.exceptions import ClientError

from ..diff import declared_diff
from ..errors import PermanentError
from ..names import (
    MANAGED_TAG_VALUE,
    OWNER_PLATFORM,
    TAG_MANAGED,
    TAG_OWNER,
    alb_name,
    arn_partition,
    control_plane_log_group_name,
    corp_ip_set_name,
    platform_tags,
    sandbox_vpc_name,
    target_group_name,
    web_acl_name,
)
from ..snapshot import platform_snapshot
from .acm import ensure_certificate
from .context import LEVELS, AwsContext, has_tags, tag_dict, tag_list
from .errors import aws_errors, is_code
from .logs import describe_group
from .route53 import norm

logger = logging.getLogger("provisioning")

SCOPE = "REGIONAL"
SCHEMES = {"external": "internet-facing", "internal": "internal"}
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
EXTERNAL_RULE_GROUPS = ("AWSManagedRulesSQLiRuleSet", "AWSManagedRulesCommonRuleSet")
SANDBOX_VPC_CIDR = "10.80.0.0/16"
PLATFORM_IDENTITY = {TAG_MANAGED: MANAGED_TAG_VALUE, TAG_OWNER: OWNER_PLATFORM}
# A one-off command, not a run step: it may wait longer for ACM to issue the listeners' default certificates.
CERTIFICATE_WAIT_SECONDS = 600
# The gateway serves HTTPS (re-encryption); it answers 404 to unknown hosts, which is alive all the same.
TARGET_PROTOCOL, TARGET_PORT = "HTTPS", 443
CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator")


def in_sandbox() -> bool:
    return bool(os.environ.get("AWS_ENDPOINT_URL"))


def visibility(metric: str) -> dict[str, Any]:
    return {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": metric}


def external_acl(name: str, rate_limit: int) -> dict[str, Any]:
    """Internet-facing: a per-IP rate limit, then AWS's SQL injection and common-attack (XSS, ...) rule groups."""
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
    return {"DefaultAction": {"Allow": {}}, "Rules": rules, "VisibilityConfig": visibility(name)}


def internal_acl(name: str, ip_set_arn: str) -> dict[str, Any]:
    """Internal: the corp networks are allowed, everything else is blocked."""
    rule = {
        "Name": "allow-corp-networks",
        "Priority": 0,
        "Statement": {"IPSetReferenceStatement": {"ARN": ip_set_arn}},
        "Action": {"Allow": {}},
        "VisibilityConfig": visibility(f"{name}-allow-corp-networks"),
    }
    return {"DefaultAction": {"Block": {}}, "Rules": [rule], "VisibilityConfig": visibility(name)}


class Bootstrap:
    def __init__(self, row, *, sandbox: bool, certificate_wait: float = CERTIFICATE_WAIT_SECONDS):
        self.row = row
        self.sandbox = sandbox
        self.cluster = row.cluster_name
        self.ctx = AwsContext(platform_snapshot(row))
        self.certificate_wait = certificate_wait
        self.actions: list[str] = []

    def did(self, verb: str, what: str) -> None:
        self.actions.append(f"{verb} {what}")
        logger.info("provisioning.bootstrap.%s", verb, extra={"x_what": what})

    def client(self, name: str):
        return self.ctx.client(name)

    # --- the run ----------------------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        with aws_errors("bootstrap"):
            fields: dict[str, Any] = {"aws_account_id": self.client("sts").get_caller_identity()["Account"]}
            zones = {level: self.hosted_zone(self.row.zones[level]) for level in LEVELS}
            fields |= {f"{level}_zone_id": zone_id for level, zone_id in zones.items()}
            vpc_id, subnet_ids = self.network()
            if self.sandbox:
                fields |= {"vpc_id": vpc_id, "subnet_ids": subnet_ids}
            self.control_plane_logging(fields["aws_account_id"], subnet_ids)
            ip_set = self.ip_set()
            fields["corp_ip_set_arn"] = ip_set
            for level in LEVELS:
                target_group = self.target_group(level, vpc_id, subnet_ids)
                alb = self.load_balancer(level, vpc_id, subnet_ids)
                listener = self.listener(level, alb["LoadBalancerArn"], target_group, zones[level])
                name = web_acl_name(self.cluster, level)
                spec = (
                    external_acl(name, self.row.waf_rate_limit) if level == "external" else internal_acl(name, ip_set)
                )
                acl = self.web_acl(name, spec)
                self.associate(acl, alb["LoadBalancerArn"])
                fields |= {
                    f"{level}_alb_arn": alb["LoadBalancerArn"],
                    f"{level}_alb_dns_name": alb["DNSName"].lower(),
                    f"{level}_alb_zone_id": alb["CanonicalHostedZoneId"],
                    f"{level}_listener_arn": listener,
                    f"{level}_target_group_arn": target_group,
                    f"{level}_web_acl_arn": acl,
                }
        type(self.row).objects.filter(pk=self.row.pk).update(**fields)
        for name, value in fields.items():
            setattr(self.row, name, value)
        return {"actions": self.actions, **fields}

    # --- DNS ---------------------------------------------------------------------------------------------------

    def hosted_zone(self, name: str) -> str:
        route53 = self.client("route53")

        def find() -> str:
            page = route53.list_hosted_zones_by_name(DNSName=name, MaxItems="10")
            ids = [z["Id"].rsplit("/", 1)[-1] for z in page.get("HostedZones", []) if norm(z["Name"]) == name]
            return ids[0] if ids else ""

        if zone_id := find():
            return zone_id
        if not self.sandbox:
            raise PermanentError(
                f"no Route53 hosted zone for {name}: create it (bootstrap creates zones only in the sandbox)",
                code="HostedZoneNotFound",
            )
        try:
            created = route53.create_hosted_zone(
                Name=name,
                CallerReference=f"portal-{self.cluster}-{name}",
                HostedZoneConfig={"Comment": "platform portal", "PrivateZone": False},
            )
        except ClientError as exc:
            if is_code(exc, "HostedZoneAlreadyExists"):
                return find()
            raise
        zone_id = created["HostedZone"]["Id"].rsplit("/", 1)[-1]
        route53.change_tags_for_resource(
            ResourceType="hostedzone", ResourceId=zone_id, AddTags=tag_list(platform_tags(name))
        )
        self.did("created", f"hosted zone {name}")
        return zone_id

    # --- network (what the ALBs need) -----------------------------------------------------------------------

    def network(self) -> tuple[str, list[str]]:
        if not self.sandbox:
            return self.row.vpc_id, list(self.row.subnet_ids)
        ec2 = self.client("ec2")
        name = sandbox_vpc_name(self.cluster)
        filters = [{"Name": "tag:Name", "Values": [name]}, {"Name": f"tag:{TAG_OWNER}", "Values": [OWNER_PLATFORM]}]
        vpcs = ec2.describe_vpcs(Filters=filters)["Vpcs"]
        if vpcs:
            vpc_id = vpcs[0]["VpcId"]
        else:
            spec = [{"ResourceType": "vpc", "Tags": tag_list(platform_tags(name))}]
            vpc_id = ec2.create_vpc(CidrBlock=SANDBOX_VPC_CIDR, TagSpecifications=spec)["Vpc"]["VpcId"]
            self.did("created", f"VPC {name}")
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
        if len(subnets) < 2:
            taken = {s["AvailabilityZone"] for s in subnets}
            zones = ec2.describe_availability_zones(Filters=[{"Name": "state", "Values": ["available"]}])
            network = ipaddress.ip_network(SANDBOX_VPC_CIDR)
            blocks = network.subnets(new_prefix=24)
            used = {s["CidrBlock"] for s in subnets}
            for zone in [z["ZoneName"] for z in zones["AvailabilityZones"] if z["ZoneName"] not in taken]:
                if len(subnets) >= 2:
                    break
                block = next(str(b) for b in blocks if str(b) not in used)
                spec = [{"ResourceType": "subnet", "Tags": tag_list(platform_tags(f"{name}-{zone}"))}]
                subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock=block, AvailabilityZone=zone, TagSpecifications=spec)
                subnets.append(subnet["Subnet"])
                self.did("created", f"subnet {block} in {zone}")
        return vpc_id, sorted(s["SubnetId"] for s in subnets)

    # --- EKS control-plane logs -------------------------------------------------------------------------------

    def control_plane_logging(self, account_id: str, subnet_ids: list[str]) -> None:
        """The cluster's api, audit and authenticator logs on, into a log group with the platform's retention.

        Types someone else turned on stay on. In the sandbox the cluster is created when missing, as real AWS
        would already have it.
        """
        eks = self.client("eks")
        try:
            cluster = eks.describe_cluster(name=self.cluster)["cluster"]
        except ClientError as exc:
            if not is_code(exc, "ResourceNotFoundException"):
                raise
            if not self.sandbox:
                raise PermanentError(
                    f"no EKS cluster {self.cluster} in {self.ctx.region}: the platform settings name the cluster "
                    "the portal provisions into (bootstrap creates one only in the sandbox)",
                    code="ClusterNotFound",
                ) from exc
            cluster = self.sandbox_cluster(account_id, subnet_ids)
        self.control_plane_log_group()
        enabled = {
            kind
            for setting in (cluster.get("logging") or {}).get("clusterLogging", [])
            if setting.get("enabled")
            for kind in setting.get("types", [])
        }
        if set(CONTROL_PLANE_LOG_TYPES) <= enabled:
            return
        eks.update_cluster_config(
            name=self.cluster,
            logging={"clusterLogging": [{"types": list(CONTROL_PLANE_LOG_TYPES), "enabled": True}]},
        )
        self.did("enabled", f"control-plane logging ({', '.join(CONTROL_PLANE_LOG_TYPES)}) of cluster {self.cluster}")

    def sandbox_cluster(self, account_id: str, subnet_ids: list[str]) -> dict[str, Any]:
        role = f"arn:{arn_partition(self.ctx.region)}:iam::{account_id}:role/portal-{self.cluster}-eks"
        created = self.client("eks").create_cluster(
            name=self.cluster,
            roleArn=role,
            resourcesVpcConfig={"subnetIds": subnet_ids},
            tags=platform_tags(self.cluster),
        )
        self.did("created", f"EKS cluster {self.cluster}")
        return created["cluster"]

    def control_plane_log_group(self) -> None:
        """The group EKS writes to, made first so that it has the platform's retention and tags."""
        logs, name = self.client("logs"), control_plane_log_group_name(self.cluster)
        retention = self.row.control_plane_log_retention_days
        group = describe_group(self.ctx, name)
        if group is None:
            try:
                logs.create_log_group(logGroupName=name, tags=platform_tags(name))
            except ClientError as exc:
                if not is_code(exc, "ResourceAlreadyExistsException"):
                    raise
            else:
                self.did("created", f"log group {name}")
            group = describe_group(self.ctx, name) or {}
        if group.get("retentionInDays") != retention:
            logs.put_retention_policy(logGroupName=name, retentionInDays=retention)
            self.did("updated", f"retention of log group {name} to {retention} days")

    # --- load balancers ---------------------------------------------------------------------------------------

    def claim(self, arn: str, what: str) -> None:
        """Adopt by name and tag: a same-named resource without the platform's tags is someone else's."""
        described = self.client("elbv2").describe_tags(ResourceArns=[arn])["TagDescriptions"]
        tags = tag_dict(described[0]["Tags"]) if described else {}
        if not has_tags(tags, PLATFORM_IDENTITY):
            raise PermanentError(
                f"{what} exists but is not tagged {TAG_OWNER}={OWNER_PLATFORM}; tag it to let the portal adopt it",
                code="NotManagedByPortal",
            )

    def may_create(self, what: str) -> None:
        if not self.row.create_load_balancers:
            raise PermanentError(
                f"{what} is missing and the platform settings say not to create load balancers", code="NotFound"
            )

    def require_network(self, vpc_id: str, subnet_ids: list[str], what: str) -> None:
        self.may_create(what)
        if not vpc_id or len(subnet_ids) < 2:
            raise PermanentError(
                f"{what} is missing: set the VPC and two subnets in the platform settings to create it",
                code="NetworkNotConfigured",
            )

    def target_group(self, level: str, vpc_id: str, subnet_ids: list[str]) -> str:
        elbv2, name = self.client("elbv2"), target_group_name(self.cluster, level)
        try:
            found = elbv2.describe_target_groups(Names=[name])["TargetGroups"][0]
        except ClientError as exc:
            if not is_code(exc, "TargetGroupNotFound"):
                raise
        else:
            self.claim(found["TargetGroupArn"], f"target group {name}")
            if found.get("Protocol") != TARGET_PROTOCOL:
                # A target group's protocol is fixed at creation; the listener forwards to this one.
                raise PermanentError(
                    f"target group {name} forwards {found.get('Protocol')}, but the ingress gateway serves "
                    f"{TARGET_PROTOCOL}: delete it (and its listener) and bootstrap again",
                    code="TargetGroupProtocolMismatch",
                )
            return found["TargetGroupArn"]
        self.require_network(vpc_id, subnet_ids, f"target group {name}")
        created = elbv2.create_target_group(
            Name=name,
            Protocol=TARGET_PROTOCOL,
            Port=TARGET_PORT,
            VpcId=vpc_id,
            TargetType="instance",
            HealthCheckProtocol=TARGET_PROTOCOL,
            HealthCheckPath="/",
            Matcher={"HttpCode": "200-499"},
            Tags=tag_list(platform_tags(name)),
        )
        self.did("created", f"target group {name}")
        return created["TargetGroups"][0]["TargetGroupArn"]

    def load_balancer(self, level: str, vpc_id: str, subnet_ids: list[str]) -> dict[str, Any]:
        elbv2, name = self.client("elbv2"), alb_name(self.cluster, level)
        configured = getattr(self.row, f"{level}_alb_arn")
        try:
            if configured and not self.row.create_load_balancers:
                return elbv2.describe_load_balancers(LoadBalancerArns=[configured])["LoadBalancers"][0]
            found = elbv2.describe_load_balancers(Names=[name])["LoadBalancers"][0]
        except ClientError as exc:
            if not is_code(exc, "LoadBalancerNotFound"):
                raise
        else:
            self.claim(found["LoadBalancerArn"], f"load balancer {name}")
            return found
        self.require_network(vpc_id, subnet_ids, f"load balancer {name}")
        created = elbv2.create_load_balancer(
            Name=name,
            Subnets=subnet_ids,
            Scheme=SCHEMES[level],
            Type="application",
            IpAddressType="ipv4",
            Tags=tag_list(platform_tags(name)),
        )
        self.did("created", f"{SCHEMES[level]} load balancer {name}")
        return created["LoadBalancers"][0]

    def listener(self, level: str, alb_arn: str, target_group: str, zone_id: str) -> str:
        """The HTTPS listener; its default certificate (the zone's apex) is only needed when creating it."""
        elbv2 = self.client("elbv2")
        listeners = elbv2.describe_listeners(LoadBalancerArn=alb_arn)["Listeners"]
        for listener in listeners:
            if listener["Port"] == 443 and listener["Protocol"] == "HTTPS":
                return listener["ListenerArn"]
        domain = self.row.zones[level]
        certificate = ensure_certificate(
            self.ctx,
            domain,
            zone_id,
            platform_tags(f"{alb_name(self.cluster, level)}-default"),
            PLATFORM_IDENTITY,
            seed=f"platform|{self.cluster}|{domain}",
            wait_seconds=self.certificate_wait,
        )
        created = elbv2.create_listener(
            LoadBalancerArn=alb_arn,
            Protocol="HTTPS",
            Port=443,
            SslPolicy=SSL_POLICY,
            Certificates=[{"CertificateArn": certificate["CertificateArn"]}],
            DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group}],
            Tags=tag_list(platform_tags(f"{alb_name(self.cluster, level)}-https")),
        )
        self.did("created", f"HTTPS listener of {alb_name(self.cluster, level)}")
        return created["Listeners"][0]["ListenerArn"]

    # --- WAF -------------------------------------------------------------------------------------------------

    def _summaries(self, operation: str, key: str) -> list[dict[str, Any]]:
        wafv2, found, kwargs = self.client("wafv2"), [], {"Scope": SCOPE}
        while True:
            page = getattr(wafv2, operation)(**kwargs)
            found.extend(page.get(key, []))
            if not page.get("NextMarker") or not page.get(key):
                return found
            kwargs["NextMarker"] = page["NextMarker"]

    def ip_set(self) -> str:
        """The corp CIDRs as a WAF IP set, updated when the settings changed."""
        wafv2, name = self.client("wafv2"), corp_ip_set_name(self.cluster)
        addresses = sorted(str(ipaddress.ip_network(c, strict=False)) for c in self.row.corp_cidrs)
        if any(ipaddress.ip_network(a).version != 4 for a in addresses):
            raise PermanentError("the corp CIDRs must be IPv4 (a WAF IP set holds one version)", code="NotIPv4")
        summary = next((s for s in self._summaries("list_ip_sets", "IPSets") if s["Name"] == name), None)
        if summary is None:
            self.may_create(f"IP set {name}")
            try:
                created = wafv2.create_ip_set(
                    Name=name,
                    Scope=SCOPE,
                    IPAddressVersion="IPV4",
                    Addresses=addresses,
                    Description="Corporate networks the internal ALB admits",
                    Tags=tag_list(platform_tags(name)),
                )
            except ClientError as exc:
                if not is_code(exc, "WAFDuplicateItemException"):
                    raise
                return self.ip_set()
            self.did("created", f"IP set {name}")
            return created["Summary"]["ARN"]
        current = wafv2.get_ip_set(Name=name, Scope=SCOPE, Id=summary["Id"])
        if sorted(current["IPSet"]["Addresses"]) != addresses:
            wafv2.update_ip_set(
                Name=name, Scope=SCOPE, Id=summary["Id"], Addresses=addresses, LockToken=current["LockToken"]
            )
            self.did("updated", f"IP set {name}")
        return summary["ARN"]

    def web_acl(self, name: str, spec: dict[str, Any]) -> str:
        wafv2 = self.client("wafv2")
        summary = next((s for s in self._summaries("list_web_acls", "WebACLs") if s["Name"] == name), None)
        if summary is None:
            self.may_create(f"web ACL {name}")
            try:
                created = wafv2.create_web_acl(
                    Name=name, Scope=SCOPE, Description="platform portal", Tags=tag_list(platform_tags(name)), **spec
                )
            except ClientError as exc:
                if not is_code(exc, "WAFDuplicateItemException"):
                    raise
                return self.web_acl(name, spec)
            self.did("created", f"web ACL {name}")
            return created["Summary"]["ARN"]
        current = wafv2.get_web_acl(Name=name, Scope=SCOPE, Id=summary["Id"])
        if declared_diff(spec, {key: current["WebACL"].get(key) for key in spec}):
            wafv2.update_web_acl(Name=name, Scope=SCOPE, Id=summary["Id"], LockToken=current["LockToken"], **spec)
            self.did("updated", f"web ACL {name}")
        return summary["ARN"]

    def associate(self, acl_arn: str, alb_arn: str) -> None:
        wafv2 = self.client("wafv2")
        current = wafv2.get_web_acl_for_resource(ResourceArn=alb_arn).get("WebACL") or {}
        if current.get("ARN") != acl_arn:
            wafv2.associate_web_acl(WebACLArn=acl_arn, ResourceArn=alb_arn)
            self.did(
                "associated", f"web ACL {acl_arn.rsplit('/', 2)[-2]} with load balancer {alb_arn.rsplit('/', 2)[-2]}"
            )


def bootstrap(row=None, *, sandbox: bool | None = None, certificate_wait: float = CERTIFICATE_WAIT_SECONDS) -> dict:
    """Adopt or create the platform's shared AWS pieces and record them in the platform settings."""
    from portal.catalog.models import PlatformSettings

    row = row or PlatformSettings.load()
    sandbox = in_sandbox() if sandbox is None else sandbox
    return Bootstrap(row, sandbox=sandbox, certificate_wait=certificate_wait).run()
