"""Bootstrap: a plan and an apply of the platform scope, which adopts or creates the shared AWS pieces (zones,
ALBs with their own security groups, target groups and listeners, WAF ACLs and IP set) and records what AWS
assigned to them in the inventory, where services read it from."""

import io

import pytest
from django.core.management import call_command

from portal.catalog.models import PlatformSettings
from provisioning.choices import RunStatus
from provisioning.errors import PermanentError
from provisioning.models import ManagedResource, ProvisioningRun
from provisioning.operations import bootstrap_platform
from provisioning.runs.tasks import bootstrap_platform as bootstrap_task
from provisioning.scopes import PLATFORM_KEY
from provisioning.snapshot import platform_snapshot

from .conftest import REGION, prepare_sandbox


def web_acl(wafv2, arn: str) -> dict:
    name, acl_id = arn.rsplit("/", 2)[-2:]
    return wafv2.get_web_acl(Name=name, Scope="REGIONAL", Id=acl_id)["WebACL"]


def test_bootstrap_creates_the_platform_and_records_it(bootstrapped, sandbox_client):
    platform = bootstrapped
    assert platform.aws_account_id == "123456789012"
    route53 = sandbox_client("route53")
    zones = {z["Name"].rstrip("."): z["Id"].rsplit("/", 1)[-1] for z in route53.list_hosted_zones()["HostedZones"]}
    assert zones == {"example.com": platform.external_zone_id, "internal.example.com": platform.internal_zone_id}

    elbv2, ec2 = sandbox_client("elbv2"), sandbox_client("ec2")
    albs = {lb["LoadBalancerArn"]: lb for lb in elbv2.describe_load_balancers()["LoadBalancers"]}
    assert albs[platform.external_alb_arn]["Scheme"] == "internet-facing"
    assert albs[platform.internal_alb_arn]["Scheme"] == "internal"
    assert platform.external_alb_dns_name == albs[platform.external_alb_arn]["DNSName"].lower()
    for level in ("external", "internal"):
        alb = albs[getattr(platform, f"{level}_alb_arn")]
        (group,) = ec2.describe_security_groups(GroupIds=alb["SecurityGroups"])["SecurityGroups"]
        assert group["GroupName"] == f"portal-{level}-alb-sandbox", "each ALB has its own group"
        listeners = {
            item["Port"]: item for item in elbv2.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]
        }
        assert set(listeners) == ({443, 80} if level == "external" else {443})
        https = listeners[443]
        assert https["ListenerArn"] == getattr(platform, f"{level}_listener_arn")
        assert https["Protocol"] == "HTTPS"
        assert https["Certificates"], "an HTTPS listener has a default certificate"
        assert https["DefaultActions"][0]["TargetGroupArn"] == getattr(platform, f"{level}_target_group_arn")
    (redirect,) = [
        item
        for item in elbv2.describe_listeners(LoadBalancerArn=platform.external_alb_arn)["Listeners"]
        if item["Port"] == 80
    ]
    assert redirect["DefaultActions"] == [
        {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}
    ]

    wafv2 = sandbox_client("wafv2")
    external = web_acl(wafv2, platform.external_web_acl_arn)
    groups = {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for r in external["Rules"]
        if "ManagedRuleGroupStatement" in r["Statement"]
    }
    assert groups == {
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesSQLiRuleSet",
        "AWSManagedRulesCommonRuleSet",
    }
    (rate,) = [r for r in external["Rules"] if "RateBasedStatement" in r["Statement"]]
    assert (
        rate["Statement"]["RateBasedStatement"] == {"Limit": 2000, "AggregateKeyType": "IP"}
        and "Block" in rate["Action"]
    )
    assert "Allow" in external["DefaultAction"]

    internal = web_acl(wafv2, platform.internal_web_acl_arn)
    assert "Block" in internal["DefaultAction"]
    (allow,) = internal["Rules"]
    assert (
        allow["Statement"] == {"IPSetReferenceStatement": {"ARN": platform.corp_ip_set_arn}}
        and "Allow" in allow["Action"]
    )
    name, ip_set_id = platform.corp_ip_set_arn.rsplit("/", 2)[-2:]
    ip_set = wafv2.get_ip_set(Name=name, Scope="REGIONAL", Id=ip_set_id)["IPSet"]
    assert ip_set["Addresses"] == ["203.0.113.0/24"]

    for level in ("external", "internal"):
        associated = wafv2.get_web_acl_for_resource(ResourceArn=getattr(platform, f"{level}_alb_arn"))["WebACL"]
        assert associated["ARN"] == getattr(platform, f"{level}_web_acl_arn")

    # Recorded in the inventory, with what AWS assigned; the platform settings keep none of it.
    (alb,) = ManagedResource.objects.filter(scope=PLATFORM_KEY, kind="elbv2.LoadBalancer", namespace="external")
    assert alb.outputs["arn"] == alb.external_id == platform.external_alb_arn
    assert not [f.name for f in PlatformSettings._meta.fields if f.name.endswith(("_arn", "_dns_name", "_zone_id"))]


def test_a_second_bootstrap_makes_no_writes(bootstrapped, aws_calls):
    (run,) = bootstrap_platform()
    assert run.status == RunStatus.SUCCEEDED
    assert run.plan.summary["create"] == run.plan.summary["update"] == run.plan.summary["delete"] == 0
    assert aws_calls.writes == []
    assert aws_calls.calls, "it did look"
    assert platform_snapshot() == bootstrapped


def test_existing_pieces_are_adopted_by_name_and_tag(bootstrapped, aws_calls):
    """An inventory that lost track of the platform (a new database, say, or one from before the pieces were
    recorded) finds the same pieces again, and renders the binding to their target groups from what it found:
    the plan keeps it instead of deleting it."""
    ManagedResource.objects.filter(scope=PLATFORM_KEY).delete()
    assert platform_snapshot().external_alb_arn == ""
    (run,) = bootstrap_platform()
    assert run.plan.summary["create"] == run.plan.summary["update"] == run.plan.summary["delete"] == 0
    assert aws_calls.writes == []
    assert platform_snapshot() == bootstrapped


def test_a_same_named_load_balancer_the_portal_does_not_own_is_not_adopted(bootstrapped, sandbox_client):
    sandbox_client("elbv2").remove_tags(ResourceArns=[bootstrapped.external_alb_arn], TagKeys=["portal:owner"])
    with pytest.raises(PermanentError) as failure:
        bootstrap_platform()
    assert failure.value.code == "NotManagedByPortal"
    assert "portal-external-sandbox" in str(failure.value)
    failed = ProvisioningRun.objects.filter(scope=PLATFORM_KEY).latest("pk")
    assert failed.status == RunStatus.FAILED and failed.steps.get(status="failed").error_code == "NotManagedByPortal"


def test_outside_the_sandbox_the_zones_must_already_exist(sandbox, aws_calls):
    with pytest.raises(PermanentError) as failure:
        bootstrap_platform(sandbox=False)
    assert failure.value.code == "HostedZoneNotFound"
    assert aws_calls.writes == []


def test_a_platform_without_its_network_says_which_setting_is_missing(aws, platform):
    with pytest.raises(PermanentError) as failure:
        bootstrap_platform()
    assert failure.value.code == "NetworkNotConfigured" and "(vpc_id)" in str(failure.value)


def test_a_platform_without_the_nodes_group_says_which_setting_is_missing(sandbox):
    PlatformSettings.objects.update(node_security_group_id="")
    with pytest.raises(PermanentError) as failure:
        bootstrap_platform()
    assert failure.value.code == "NodeSecurityGroupNotConfigured" and "node_security_group_id" in str(failure.value)


def test_with_creation_turned_off_missing_pieces_are_not_created(sandbox, aws_calls):
    PlatformSettings.objects.update(create_load_balancers=False)
    with pytest.raises(PermanentError) as failure:
        bootstrap_platform()
    assert failure.value.code == "NotFound" and "create_load_balancers" in str(failure.value)
    assert not [w for w in aws_calls.writes if w.startswith(("elbv2:", "wafv2:", "ec2:"))]


def test_the_command_and_the_task_bootstrap_idempotently(aws, platform):
    prepare_sandbox(platform)
    out = io.StringIO()
    call_command("bootstrap", certificate_wait=10, stdout=out)
    text = out.getvalue()
    assert "create elbv2.LoadBalancer external/portal-external-sandbox" in text
    assert "create ec2.SecurityGroupIngress" in text
    assert "platform bootstrapped in account 123456789012" in text
    result = bootstrap_task.apply().get()
    (summary,) = result["summaries"]
    assert summary["create"] == summary["update"] == summary["delete"] == 0
    assert platform_snapshot().internal_listener_arn.startswith(f"arn:aws:elasticloadbalancing:{REGION}:")
