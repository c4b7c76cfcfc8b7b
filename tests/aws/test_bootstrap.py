"""Bootstrap: the platform's zones, ALBs with HTTPS listeners, WAF ACLs and IP set, adopted or created."""

import pytest
from django.core.management import call_command

from provisioning.aws.bootstrap import bootstrap
from provisioning.errors import PermanentError
from provisioning.runs.tasks import bootstrap_platform

from .conftest import REGION


def web_acl(wafv2, arn: str) -> dict:
    name, acl_id = arn.rsplit("/", 2)[-2:]
    return wafv2.get_web_acl(Name=name, Scope="REGIONAL", Id=acl_id)["WebACL"]


def test_bootstrap_creates_the_platform_and_records_it(bootstrapped, sandbox_client):
    platform = bootstrapped
    assert platform.aws_account_id == "123456789012"
    route53 = sandbox_client("route53")
    zones = {z["Name"].rstrip("."): z["Id"].rsplit("/", 1)[-1] for z in route53.list_hosted_zones()["HostedZones"]}
    assert zones == {"example.com": platform.external_zone_id, "internal.example.com": platform.internal_zone_id}

    elbv2 = sandbox_client("elbv2")
    albs = {lb["LoadBalancerArn"]: lb for lb in elbv2.describe_load_balancers()["LoadBalancers"]}
    assert albs[platform.external_alb_arn]["Scheme"] == "internet-facing"
    assert albs[platform.internal_alb_arn]["Scheme"] == "internal"
    assert platform.external_alb_dns_name == albs[platform.external_alb_arn]["DNSName"].lower()
    for level in ("external", "internal"):
        (listener,) = elbv2.describe_listeners(LoadBalancerArn=getattr(platform, f"{level}_alb_arn"))["Listeners"]
        assert listener["ListenerArn"] == getattr(platform, f"{level}_listener_arn")
        assert (listener["Protocol"], listener["Port"]) == ("HTTPS", 443)
        assert listener["Certificates"], "an HTTPS listener has a default certificate"
        assert listener["DefaultActions"][0]["TargetGroupArn"] == getattr(platform, f"{level}_target_group_arn")

    wafv2 = sandbox_client("wafv2")
    external = web_acl(wafv2, platform.external_web_acl_arn)
    groups = {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for r in external["Rules"]
        if "ManagedRuleGroupStatement" in r["Statement"]
    }
    assert groups == {"AWSManagedRulesSQLiRuleSet", "AWSManagedRulesCommonRuleSet"}
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


def test_a_second_bootstrap_makes_no_writes(bootstrapped, aws_calls):
    before = {f.name: getattr(bootstrapped, f.name) for f in bootstrapped._meta.fields if f.name != "updated_at"}
    result = bootstrap(bootstrapped)
    assert result["actions"] == []
    assert aws_calls.writes == []
    assert aws_calls.calls, "it did look"
    bootstrapped.refresh_from_db()
    assert {f: getattr(bootstrapped, f) for f in before} == before


def test_changed_settings_are_updated_in_place(bootstrapped, sandbox_client, aws_calls):
    bootstrapped.corp_cidrs = ["203.0.113.0/24", "198.51.100.0/24"]
    bootstrapped.waf_rate_limit = 500
    bootstrapped.save()
    result = bootstrap(bootstrapped)
    assert sorted(aws_calls.writes) == ["wafv2:UpdateIPSet", "wafv2:UpdateWebACL"]
    assert len(result["actions"]) == 2
    wafv2 = sandbox_client("wafv2")
    name, ip_set_id = bootstrapped.corp_ip_set_arn.rsplit("/", 2)[-2:]
    assert sorted(wafv2.get_ip_set(Name=name, Scope="REGIONAL", Id=ip_set_id)["IPSet"]["Addresses"]) == [
        "198.51.100.0/24",
        "203.0.113.0/24",
    ]
    rules = web_acl(wafv2, bootstrapped.external_web_acl_arn)["Rules"]
    assert [r["Statement"]["RateBasedStatement"]["Limit"] for r in rules if "RateBasedStatement" in r["Statement"]] == [
        500
    ]


def test_existing_pieces_are_adopted_by_name_and_tag(bootstrapped, aws_calls):
    """Settings that lost track of the platform (a new database, say) find the same pieces again."""
    arns = (bootstrapped.external_alb_arn, bootstrapped.internal_listener_arn, bootstrapped.external_web_acl_arn)
    type(bootstrapped).objects.filter(pk=bootstrapped.pk).update(
        external_alb_arn="", internal_listener_arn="", external_web_acl_arn="", external_zone_id=""
    )
    bootstrapped.refresh_from_db()
    bootstrap(bootstrapped)
    assert aws_calls.writes == []
    assert (
        bootstrapped.external_alb_arn,
        bootstrapped.internal_listener_arn,
        bootstrapped.external_web_acl_arn,
    ) == arns


def test_a_same_named_load_balancer_the_portal_does_not_own_is_not_adopted(aws, platform, sandbox_client):
    bootstrap(platform)
    elbv2 = sandbox_client("elbv2")
    elbv2.remove_tags(ResourceArns=[platform.external_alb_arn], TagKeys=["portal:owner"])
    with pytest.raises(PermanentError) as failure:
        bootstrap(platform)
    assert failure.value.code == "NotManagedByPortal"
    assert "portal-external-sandbox" in str(failure.value)


def test_outside_the_sandbox_the_zones_must_already_exist(aws, platform, aws_calls):
    with pytest.raises(PermanentError) as failure:
        bootstrap(platform, sandbox=False)
    assert failure.value.code == "HostedZoneNotFound"
    assert aws_calls.writes == []


def test_the_command_and_the_task_bootstrap_idempotently(aws, platform, capsys):
    call_command("bootstrap", certificate_wait=10)
    out = capsys.readouterr().out
    assert "created internet-facing load balancer portal-external-sandbox" in out
    assert "platform bootstrapped in account 123456789012" in out
    result = bootstrap_platform.apply().get()
    assert result["actions"] == []
    assert result["external_zone_id"] and result["internal_listener_arn"].startswith(
        f"arn:aws:elasticloadbalancing:{REGION}:"
    )
