"""The platform scope turns on the EKS control-plane logs (api, audit, authenticator) with the platform's retention,
and its target groups speak HTTPS to the ingress gateway."""

import io

import pytest
from django.core.management import call_command

from portal.catalog.models import PlatformSettings
from provisioning.desired.platform.aws import CONTROL_PLANE_LOG_TYPES
from provisioning.errors import PermanentError
from provisioning.names import control_plane_log_group_name
from provisioning.operations import bootstrap_platform

GROUP = control_plane_log_group_name("sandbox")


def enabled_types(eks, cluster: str = "sandbox") -> set[str]:
    logging = eks.describe_cluster(name=cluster)["cluster"]["logging"]["clusterLogging"]
    return {kind for setting in logging if setting["enabled"] for kind in setting["types"]}


def group(logs) -> dict:
    groups = logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]
    (found,) = [g for g in groups if g["logGroupName"] == GROUP]
    return found


def test_bootstrap_turns_on_control_plane_logs_into_a_group_with_the_platforms_retention(bootstrapped, sandbox_client):
    assert enabled_types(sandbox_client("eks")) >= set(CONTROL_PLANE_LOG_TYPES) == {"api", "audit", "authenticator"}
    logs = sandbox_client("logs")
    assert group(logs)["retentionInDays"] == bootstrapped.control_plane_log_retention_days == 90
    tags = logs.list_tags_for_resource(resourceArn=group(logs)["logGroupArn"].removesuffix(":*"))["tags"]
    assert tags["portal:owner"] == "platform"


def test_a_second_run_writes_nothing(bootstrapped, aws_calls):
    bootstrap_platform()
    assert aws_calls.writes == []
    assert {"eks:DescribeCluster", "logs:DescribeLogGroups"} <= {f"{c.service}:{c.operation}" for c in aws_calls.calls}


def test_an_existing_cluster_is_configured_not_created(aws, platform, sandbox_client, aws_calls):
    ec2 = sandbox_client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.90.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.90.1.0/24")["Subnet"]["SubnetId"]
    sandbox_client("eks").create_cluster(
        name="sandbox", roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig={"subnetIds": [subnet]}
    )
    assert enabled_types(sandbox_client("eks")) == set()
    call_command("prepare_sandbox", stdout=io.StringIO())
    runs = bootstrap_platform(wait_seconds=10)
    assert "eks:CreateCluster" not in aws_calls.writes
    assert aws_calls.writes.count("eks:UpdateClusterConfig") == 1
    (logging,) = [c for c in runs[0].plan.changes if c["kind"] == "eks.ClusterLogging"]
    assert logging["action"] == "update"
    assert {"path": "types.audit", "old": False, "new": True} in logging["diff"]
    assert enabled_types(sandbox_client("eks")) >= set(CONTROL_PLANE_LOG_TYPES)


def test_a_changed_retention_is_applied_in_place(bootstrapped, sandbox_client, aws_calls):
    PlatformSettings.objects.update(control_plane_log_retention_days=30)
    bootstrap_platform()
    assert aws_calls.writes == ["logs:PutRetentionPolicy"]
    assert group(sandbox_client("logs"))["retentionInDays"] == 30


def test_outside_the_sandbox_the_cluster_must_exist(bootstrapped, sandbox_client, aws_calls):
    sandbox_client("eks").delete_cluster(name="sandbox")
    aws_calls.restart()
    with pytest.raises(PermanentError) as failure:
        bootstrap_platform(sandbox=False)
    assert failure.value.code == "ClusterNotFound" and "(cluster_name)" in str(failure.value)
    assert aws_calls.writes == []


def test_the_ingress_target_groups_speak_https_to_the_gateway(bootstrapped, sandbox_client):
    """The ALB re-encrypts to the gateway (seed §17): the gateway's Gateway serves HTTPS on the NodePort."""
    elbv2 = sandbox_client("elbv2")
    for level in ("external", "internal"):
        arn = getattr(bootstrapped, f"{level}_target_group_arn")
        (target_group,) = elbv2.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"]
        assert (target_group["Protocol"], target_group["Port"]) == ("HTTPS", 443)
        assert (target_group["TargetType"], target_group["HealthCheckProtocol"]) == ("instance", "HTTPS")


def test_a_target_group_that_forwards_plain_http_is_not_adopted(bootstrapped, platform, sandbox_client):
    elbv2 = sandbox_client("elbv2")
    elbv2.delete_listener(ListenerArn=bootstrapped.external_listener_arn)
    elbv2.delete_target_group(TargetGroupArn=bootstrapped.external_target_group_arn)
    elbv2.create_target_group(
        Name="portal-external-gw-sandbox",
        Protocol="HTTP",
        Port=80,
        VpcId=platform.vpc_id,
        TargetType="instance",
        Tags=[{"Key": "portal:managed", "Value": "true"}, {"Key": "portal:owner", "Value": "platform"}],
    )
    with pytest.raises(PermanentError) as failure:
        bootstrap_platform()
    assert failure.value.code == "TargetGroupProtocolMismatch"
    assert "protocol 'HTTP'" in str(failure.value) and "delete it" in str(failure.value)
