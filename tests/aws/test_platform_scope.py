"""The platform's shared AWS pieces are desired resources of the platform scope: planned field by field, applied
with only the writes a change needs, recorded, and drift-checked like everything else."""

from portal.catalog.models import PlatformSettings
from provisioning.choices import ChangeAction, ResourceStatus, RunAction, RunStatus
from provisioning.models import ManagedResource, ProvisioningRun
from provisioning.operations import bootstrap_platform, drift_check_platform, plan_platform
from provisioning.runs.sweep import request_drift_checks
from provisioning.scopes import PLATFORM_KEY
from provisioning.snapshot import platform_snapshot
from tests.engine.conftest import run_task

from .conftest import prepare_sandbox

CORP = "203.0.113.0/24"
ANYWHERE = ("0.0.0.0/0", "::/0")


def aws_changes(plan) -> dict[str, dict]:
    """The plan's AWS changes by ``kind namespace/name``."""
    return {
        f"{c['kind']} {c['namespace']}/{c['name']}".replace(" /", " "): c
        for c in plan.changes
        if c["provider"] == "aws"
    }


def new_fields(change: dict) -> dict:
    return {d["path"]: d["new"] for d in change["diff"]}


def not_unchanged(plan) -> dict[str, dict]:
    return {key: c for key, c in aws_changes(plan).items() if c["action"] != ChangeAction.UNCHANGED}


def test_the_plan_of_a_fresh_platform_lists_every_shared_piece_with_its_fields(sandbox):
    changes = aws_changes(plan_platform())
    nodes = sandbox.node_security_group_id
    assert {key: c["action"] for key, c in changes.items()} == {
        "route53.HostedZone external/example.com": "create",
        "route53.HostedZone internal/internal.example.com": "create",
        "ec2.SecurityGroup external/portal-external-alb-sandbox": "create",
        "ec2.SecurityGroup internal/portal-internal-alb-sandbox": "create",
        f"ec2.SecurityGroupIngress {nodes}/portal-external-alb-sandbox": "create",
        f"ec2.SecurityGroupIngress {nodes}/portal-internal-alb-sandbox": "create",
        "elbv2.TargetGroup external/portal-external-gw-sandbox": "create",
        "elbv2.TargetGroup internal/portal-internal-gw-sandbox": "create",
        "elbv2.LoadBalancer external/portal-external-sandbox": "create",
        "elbv2.LoadBalancer internal/portal-internal-sandbox": "create",
        "elbv2.Listener external/portal-external-sandbox-https": "create",
        "elbv2.Listener external/portal-external-sandbox-http": "create",
        "elbv2.Listener internal/portal-internal-sandbox-https": "create",
        "wafv2.IPSet portal-corp-sandbox": "create",
        "wafv2.WebACL external/portal-external-sandbox": "create",
        "wafv2.WebACL internal/portal-internal-sandbox": "create",
        "wafv2.WebACLAssociation external/portal-external-sandbox": "create",
        "wafv2.WebACLAssociation internal/portal-internal-sandbox": "create",
        "route53.Delegation example.com/internal.example.com": "create",
        **{
            f"{kind} internal/{tool}.internal.example.com": "create"
            for kind in ("acm.PlatformCertificate", "route53.PlatformRecord")
            for tool in ("alertmanager", "grafana", "kiali", "oauth2-proxy", "prometheus")
        },
        "logs.LogGroup /aws/eks/sandbox/cluster": "create",
        "eks.ClusterLogging sandbox": "update",  # the sandbox's cluster exists, its logs are off
        **{
            f"logs.LogGroup /eks/sandbox/platform/{component}": "create"
            for component in (
                "ingress-nginx",
                "istio-ingress",
                "istio-system",
                "monitoring",
                "oauth2-proxy",
                "observability",
            )
        },
    }
    zone = new_fields(changes["route53.HostedZone external/example.com"])
    assert zone == {"name": "example.com", "private_zone": False}

    external = new_fields(changes["ec2.SecurityGroup external/portal-external-alb-sandbox"])
    assert external["vpc_id"] == sandbox.vpc_id
    rules = {(r["port"], r["cidr"]) for r in external["ingress"]}
    assert rules == {(port, cidr) for port in (443, 80) for cidr in ANYWHERE}
    internal = new_fields(changes["ec2.SecurityGroup internal/portal-internal-alb-sandbox"])
    assert internal["ingress"] == [{"protocol": "tcp", "port": 443, "cidr": CORP}]
    admit = new_fields(changes[f"ec2.SecurityGroupIngress {nodes}/portal-external-alb-sandbox"])
    assert admit == {"protocol": "tcp", "port": 30443, "source_security_group": "portal-external-alb-sandbox"}

    alb = new_fields(changes["elbv2.LoadBalancer internal/portal-internal-sandbox"])
    assert alb["scheme"] == "internal" and alb["security_groups"] == ["portal-internal-alb-sandbox"]
    assert alb["subnets"] == sorted(sandbox.subnet_ids)
    https = new_fields(changes["elbv2.Listener external/portal-external-sandbox-https"])
    assert (https["protocol"], https["port"], https["load_balancer"]) == ("HTTPS", 443, "portal-external-sandbox")
    assert https["default_certificate.domain"] == "example.com"
    assert https["default_action.target_group"] == "portal-external-gw-sandbox"
    http = new_fields(changes["elbv2.Listener external/portal-external-sandbox-http"])
    assert (http["port"], http["default_action.type"], http["default_action.protocol"]) == (80, "redirect", "HTTPS")

    assert new_fields(changes["wafv2.IPSet portal-corp-sandbox"])["addresses"] == [CORP]
    (allow,) = new_fields(changes["wafv2.WebACL internal/portal-internal-sandbox"])["rules"]
    assert allow["Statement"] == {"IPSetReferenceStatement": {"IPSet": "portal-corp-sandbox"}}
    association = new_fields(changes["wafv2.WebACLAssociation internal/portal-internal-sandbox"])
    assert association == {"web_acl": "portal-internal-sandbox"}
    assert new_fields(changes["logs.LogGroup /aws/eks/sandbox/cluster"])["retention_days"] == 90


def test_the_nodes_admit_each_alb_on_its_gateways_node_port(bootstrapped, sandbox_client):
    ec2 = sandbox_client("ec2")
    nodes = platform_snapshot().node_security_group_id
    (group,) = ec2.describe_security_groups(GroupIds=[nodes])["SecurityGroups"]
    admitted = {
        (p["FromPort"], pair["GroupId"]) for p in group["IpPermissions"] for pair in p.get("UserIdGroupPairs", [])
    }
    albs = sandbox_client("elbv2").describe_load_balancers(
        LoadBalancerArns=[bootstrapped.external_alb_arn, bootstrapped.internal_alb_arn]
    )["LoadBalancers"]
    ports = {"internet-facing": 30443, "internal": 30444}
    assert admitted == {(ports[alb["Scheme"]], alb["SecurityGroups"][0]) for alb in albs}


def test_a_changed_rate_limit_is_one_update_and_one_write(bootstrapped, aws_calls):
    PlatformSettings.objects.update(waf_rate_limit=500)
    plan = plan_platform()
    (change,) = not_unchanged(plan).values()
    assert (change["action"], change["kind"], change["name"]) == ("update", "wafv2.WebACL", "portal-external-sandbox")
    assert change["diff"] == [{"path": "rules[0].Statement.RateBasedStatement.Limit", "old": 2000, "new": 500}]
    aws_calls.restart()
    bootstrap_platform()
    assert aws_calls.writes == ["wafv2:UpdateWebACL"]


def test_changed_corp_cidrs_update_only_what_holds_them_with_one_write_each(bootstrapped, sandbox_client, aws_calls):
    """The IP set holds the corp CIDRs for the internal WAF, and the internal ALB's group admits them on 443. The
    internal web ACL refers to the IP set by name, so it does not change."""
    PlatformSettings.objects.update(corp_cidrs=[CORP, "198.51.100.0/24"])
    changes = not_unchanged(plan_platform())
    assert {key: c["action"] for key, c in changes.items()} == {
        "wafv2.IPSet portal-corp-sandbox": "update",
        "ec2.SecurityGroup internal/portal-internal-alb-sandbox": "update",
    }
    assert changes["wafv2.IPSet portal-corp-sandbox"]["diff"] == [
        {"path": "addresses", "old": [CORP], "new": ["198.51.100.0/24", CORP]}
    ]
    aws_calls.restart()
    bootstrap_platform()
    assert sorted(aws_calls.writes) == ["ec2:AuthorizeSecurityGroupIngress", "wafv2:UpdateIPSet"]
    name, ip_set_id = bootstrapped.corp_ip_set_arn.rsplit("/", 2)[-2:]
    addresses = sandbox_client("wafv2").get_ip_set(Name=name, Scope="REGIONAL", Id=ip_set_id)["IPSet"]["Addresses"]
    assert sorted(addresses) == ["198.51.100.0/24", CORP]


def test_drift_in_the_shared_pieces_is_found_and_the_next_apply_repairs_it(bootstrapped, sandbox_client, aws_calls):
    wafv2, ec2, elbv2 = sandbox_client("wafv2"), sandbox_client("ec2"), sandbox_client("elbv2")
    name, ip_set_id = bootstrapped.corp_ip_set_arn.rsplit("/", 2)[-2:]
    lock = wafv2.get_ip_set(Name=name, Scope="REGIONAL", Id=ip_set_id)["LockToken"]
    wafv2.update_ip_set(Name=name, Scope="REGIONAL", Id=ip_set_id, Addresses=["0.0.0.0/1"], LockToken=lock)
    (external_group,) = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["portal-external-alb-sandbox"]}]
    )["SecurityGroups"]
    http_v6 = {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}
    ssh = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    ec2.revoke_security_group_ingress(GroupId=external_group["GroupId"], IpPermissions=[http_v6])
    ec2.authorize_security_group_ingress(GroupId=external_group["GroupId"], IpPermissions=[ssh])
    elbv2.modify_target_group(TargetGroupArn=bootstrapped.internal_target_group_arn, HealthCheckPath="/healthz")
    (http,) = [
        item
        for item in elbv2.describe_listeners(LoadBalancerArn=bootstrapped.external_alb_arn)["Listeners"]
        if item["Port"] == 80
    ]
    forward = {"Type": "forward", "TargetGroupArn": bootstrapped.external_target_group_arn}
    elbv2.modify_listener(ListenerArn=http["ListenerArn"], DefaultActions=[forward])

    run = run_task(drift_check_platform())
    assert run.status == RunStatus.SUCCEEDED and run.drift_found
    drifted = {
        r.kind: r.drift for r in ManagedResource.objects.filter(scope=PLATFORM_KEY, status=ResourceStatus.DRIFTED)
    }
    assert set(drifted) == {"wafv2.IPSet", "ec2.SecurityGroup", "elbv2.TargetGroup", "elbv2.Listener"}
    assert drifted["wafv2.IPSet"] == [{"path": "addresses[0]", "old": "0.0.0.0/1", "new": CORP}]
    assert drifted["ec2.SecurityGroup"] and all(d["path"].startswith("ingress") for d in drifted["ec2.SecurityGroup"])
    assert {"path": "health_check.path", "old": "/healthz", "new": "/"} in drifted["elbv2.TargetGroup"]
    assert {"path": "default_action.type", "old": "forward", "new": "redirect"} in drifted["elbv2.Listener"]

    aws_calls.restart()
    bootstrap_platform()
    assert sorted(aws_calls.writes) == [
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupIngress",
        "elbv2:ModifyListener",
        "elbv2:ModifyTargetGroup",
        "wafv2:UpdateIPSet",
    ]
    assert not run_task(drift_check_platform()).drift_found
    (repaired,) = ec2.describe_security_groups(GroupIds=[external_group["GroupId"]])["SecurityGroups"]
    assert {p["FromPort"] for p in repaired["IpPermissions"]} == {80, 443}


def test_the_periodic_sweep_checks_the_applied_platform_too(bootstrapped):
    assert request_drift_checks() == 1
    (run,) = ProvisioningRun.objects.filter(action=RunAction.DRIFT_CHECK)
    assert run.scope == PLATFORM_KEY
    assert not run_task(run).drift_found


def test_an_alb_made_without_its_own_group_is_given_it(sandbox, sandbox_client, aws_calls):
    """ALBs an earlier portal made had no security group of their own (EC2 gives such an ALB the VPC's default
    group; moto gives it none): the plan shows the change, the apply sets the group."""
    tags = [{"Key": "portal:managed", "Value": "true"}, {"Key": "portal:owner", "Value": "platform"}]
    sandbox_client("elbv2").create_load_balancer(
        Name="portal-internal-sandbox", Subnets=list(sandbox.subnet_ids), Scheme="internal", Tags=tags
    )
    changes = aws_changes(plan_platform())
    alb = changes["elbv2.LoadBalancer internal/portal-internal-sandbox"]
    assert alb["action"] == "update"
    assert {"path": "security_groups", "old": [], "new": ["portal-internal-alb-sandbox"]} in alb["diff"]
    bootstrap_platform(wait_seconds=10)
    assert "elbv2:SetSecurityGroups" in aws_calls.writes
    assert "elbv2:CreateLoadBalancer" in aws_calls.writes, "the external one did not exist"
    assert aws_calls.writes.count("elbv2:CreateLoadBalancer") == 1


def test_other_subnets_in_the_settings_move_the_albs(bootstrapped, platform, sandbox_client, aws_calls):
    ec2 = sandbox_client("ec2")
    taken = {s["AvailabilityZone"] for s in ec2.describe_subnets(SubnetIds=list(platform.subnet_ids))["Subnets"]}
    zone = next(
        z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"] if z["ZoneName"] not in taken
    )
    third = ec2.create_subnet(VpcId=platform.vpc_id, CidrBlock="10.80.200.0/24", AvailabilityZone=zone)["Subnet"]
    moved = sorted([platform.subnet_ids[0], third["SubnetId"]])
    PlatformSettings.objects.update(subnet_ids=moved)
    assert {c["kind"] for c in not_unchanged(plan_platform()).values()} == {"elbv2.LoadBalancer"}
    aws_calls.restart()
    bootstrap_platform()
    assert aws_calls.writes == ["elbv2:SetSubnets", "elbv2:SetSubnets"]
    albs = sandbox_client("elbv2").describe_load_balancers(Names=["portal-external-sandbox"])["LoadBalancers"]
    assert sorted(zone["SubnetId"] for zone in albs[0]["AvailabilityZones"]) == moved


def test_a_renamed_cluster_gets_new_pieces_and_the_old_ones_are_deleted(bootstrapped, platform, sandbox_client):
    PlatformSettings.objects.update(cluster_name="prod")
    prepare_sandbox(platform)  # the new cluster, in a network of its own
    runs = bootstrap_platform(wait_seconds=10)
    assert runs[-1].status == RunStatus.SUCCEEDED
    deleted = {(c["kind"], c["name"]) for c in runs[0].plan.changes if c["action"] == ChangeAction.DELETE}
    assert {
        ("elbv2.LoadBalancer", "portal-external-sandbox"),
        ("elbv2.Listener", "portal-external-sandbox-http"),
        ("elbv2.TargetGroup", "portal-internal-gw-sandbox"),
        ("ec2.SecurityGroup", "portal-internal-alb-sandbox"),
        ("ec2.SecurityGroupIngress", "portal-external-alb-sandbox"),
        ("wafv2.IPSet", "portal-corp-sandbox"),
        ("wafv2.WebACL", "portal-external-sandbox"),
        ("wafv2.WebACLAssociation", "portal-internal-sandbox"),
        ("logs.LogGroup", "/aws/eks/sandbox/cluster"),
    } <= deleted
    elbv2, wafv2, logs = sandbox_client("elbv2"), sandbox_client("wafv2"), sandbox_client("logs")
    assert sorted(lb["LoadBalancerName"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]) == [
        "portal-external-prod",
        "portal-internal-prod",
    ]
    assert [s["Name"] for s in wafv2.list_ip_sets(Scope="REGIONAL")["IPSets"]] == ["portal-corp-prod"]
    assert sorted(a["Name"] for a in wafv2.list_web_acls(Scope="REGIONAL")["WebACLs"]) == [
        "portal-external-prod",
        "portal-internal-prod",
    ]
    groups = logs.describe_log_groups(logGroupNamePrefix="/aws/eks/")["logGroups"]
    assert {g["logGroupName"] for g in groups} == {"/aws/eks/sandbox/cluster", "/aws/eks/prod/cluster"}, (
        "an EKS control-plane group is kept: audit logs outlive the platform's use of them"
    )
    zones = {z["Name"] for z in sandbox_client("route53").list_hosted_zones()["HostedZones"]}
    assert zones == {"example.com.", "internal.example.com."}, "zones are never deleted"
    assert "/portal-external-prod/" in platform_snapshot().external_alb_arn
