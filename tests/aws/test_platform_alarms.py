"""The platform's own alarms (the ALBs' and the gateways' 5xx, the gateways' p99 response time, WAF blocks) in the
sandbox: created with CloudWatch's dimensions for the pieces the bodies name, notifying the SRE team's topic, and
read back as declared, so a second apply changes nothing."""

import pytest
from django.core.exceptions import ValidationError

from portal.catalog.models import PlatformSettings
from provisioning.choices import ChangeAction, RunStatus
from provisioning.operations import bootstrap_platform, plan_platform

TOPIC = "arn:aws:sns:ap-northeast-1:123456789012:portal-platform-incidents"


def alarm_changes(plan) -> dict[str, str]:
    return {c["name"]: c["action"] for c in plan.changes if c["kind"] == "cloudwatch.MetricAlarm"}


def test_without_an_sre_team_the_platform_raises_no_alarms(bootstrapped):
    assert alarm_changes(plan_platform()) == {}


def test_the_platform_alarms_notify_the_sre_teams_topic(bootstrapped, sandbox_client):
    PlatformSettings.objects.update(sre_team="platform")
    plan = plan_platform()
    assert set(alarm_changes(plan).values()) == {ChangeAction.CREATE}
    assert sorted(alarm_changes(plan)) == sorted(
        f"portal-sandbox-{level}-{signal}"
        for level in ("external", "internal")
        for signal in ("elb-5xx", "target-5xx", "target-p99", "waf-blocked")
    )
    runs = bootstrap_platform(wait_seconds=10)
    assert runs[-1].status == RunStatus.SUCCEEDED, runs[-1].error

    alarms = {a["AlarmName"]: a for a in sandbox_client("cloudwatch").describe_alarms()["MetricAlarms"]}
    elb = alarms["portal-sandbox-external-elb-5xx"]
    assert (elb["Namespace"], elb["MetricName"], elb["Statistic"]) == (
        "AWS/ApplicationELB",
        "HTTPCode_ELB_5XX_Count",
        "Sum",
    )
    (load_balancer,) = elb["Dimensions"]
    arn = sandbox_client("elbv2").describe_load_balancers(Names=["portal-external-sandbox"])["LoadBalancers"][0]
    assert load_balancer == {"Name": "LoadBalancer", "Value": arn["LoadBalancerArn"].split(":loadbalancer/")[1]}
    assert elb["AlarmActions"] == elb["OKActions"] == [TOPIC]

    p99 = alarms["portal-sandbox-internal-target-p99"]
    assert (p99["MetricName"], p99.get("ExtendedStatistic")) == ("TargetResponseTime", "p99")
    dimensions = {d["Name"]: d["Value"] for d in p99["Dimensions"]}
    assert dimensions["TargetGroup"].startswith("targetgroup/portal-internal-gw-sandbox/")
    waf = alarms["portal-sandbox-external-waf-blocked"]
    assert {d["Name"]: d["Value"] for d in waf["Dimensions"]} == {
        "Region": "ap-northeast-1",
        "Rule": "ALL",
        "WebACL": "portal-external-sandbox",
    }
    assert set(alarm_changes(plan_platform()).values()) == {ChangeAction.UNCHANGED}


def test_the_sre_team_must_exist(platform, team):
    platform.sre_team = "nobody"
    with pytest.raises(ValidationError) as error:
        platform.clean()
    assert list(error.value.message_dict) == ["sre_team"]
    platform.sre_team = team.slug
    platform.clean()
