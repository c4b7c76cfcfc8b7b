"""The platform's own alarms (the ALBs' and the gateways' 5xx, the gateways' p99 response time, WAF blocks) in the
sandbox: created with CloudWatch's dimensions for the pieces the bodies name, notifying the SRE team's topic, and
read back as declared, so a second apply changes nothing."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from portal.catalog.models import Membership, PlatformSettings, Team
from portal.oncall.api.serializers import ScheduleSerializer
from portal.oncall.models import Schedule
from portal.oncall.tasks import refresh_routing_at
from portal.users.models import User
from provisioning.choices import ChangeAction, RunStatus
from provisioning.models import ProvisioningRun
from provisioning.operations import bootstrap_platform, plan_platform
from provisioning.scopes import PLATFORM_KEY
from tests.engine.conftest import run_task

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


# --- the SRE team's pair on call, and a hand-over ------------------------------------------------------------


def sre_schedule(team: Team, commander: str, resolver: str) -> None:
    """One person per role from an hour ago, for a week."""
    start = (timezone.localtime() - timedelta(hours=1)).replace(tzinfo=None, microsecond=0).isoformat()
    rotations = [
        {"role": role, "members": [person], "shift_hours": 168, "start": start}
        for role, person in (("incident_commander", commander), ("resolver", resolver))
    ]
    schedule = Schedule.objects.filter(team=team).first()
    serializer = ScheduleSerializer(
        instance=schedule, data={"time_zone": "UTC", "rotations": rotations}, context={"team": team}
    )
    serializer.is_valid(raise_exception=True)
    serializer.save()


def test_the_sre_teams_topic_and_pair_travel_with_the_alarms_and_a_hand_over_needs_no_second_sre(
    sandbox, sandbox_client
):
    """The team that runs no service of its own still has its topic (subscribed to its incident tool's CloudWatch
    source); the alarms name its pair; at a hand-over the on-call refresh re-applies the platform with no approval,
    and only what watches changes."""
    team = Team.objects.create(
        slug="platform", name="Platform", incident_sns_url="https://incidents.example.com/sns/sre"
    )
    for name in ("erin", "frank", "gina", "hank"):
        Membership.objects.create(team=team, user=User.objects.create(username=name, email=f"{name}@example.com"))
    sre_schedule(team, "erin", "frank")
    PlatformSettings.objects.update(sre_team="platform", slack_webhook_url="https://hooks.slack.example.com/T0/B0/x")

    runs = bootstrap_platform(wait_seconds=10)
    assert runs[-1].status == RunStatus.SUCCEEDED, runs[-1].error
    sns = sandbox_client("sns")
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=TOPIC)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions] == [
        ("https", "https://incidents.example.com/sns/sre")
    ]
    alarms = {a["AlarmName"]: a for a in sandbox_client("cloudwatch").describe_alarms()["MetricAlarms"]}
    description = alarms["portal-sandbox-external-elb-5xx"]["AlarmDescription"]
    assert "incident commander erin <erin@example.com>, resolver frank <frank@example.com>" in description

    # Routed as rendered; then the roles change hands.
    assert refresh_routing_at(timezone.now()) == {"requested": 1, "failed": 0}
    first = ProvisioningRun.objects.get(scope=PLATFORM_KEY, status=RunStatus.QUEUED)
    assert run_task(first).status == RunStatus.SUCCEEDED
    assert first.plan is None or not first.plan.requires_approval
    sre_schedule(team, "gina", "hank")
    assert refresh_routing_at(timezone.now()) == {"requested": 1, "failed": 0}
    handover = ProvisioningRun.objects.get(scope=PLATFORM_KEY, status=RunStatus.QUEUED)
    handover = run_task(handover)
    assert handover.status == RunStatus.SUCCEEDED, handover.error
    assert handover.plan.approval_reasons == []
    changed = {(c["kind"], c["name"]) for c in handover.plan.changes if c["action"] != ChangeAction.UNCHANGED}
    assert ("PrometheusRule", "platform-cluster") in changed
    assert ("AlertmanagerConfig", "platform-alerts") in changed
    assert ("cloudwatch.MetricAlarm", "portal-sandbox-internal-waf-blocked") in changed
    alarms = {a["AlarmName"]: a for a in sandbox_client("cloudwatch").describe_alarms()["MetricAlarms"]}
    assert "incident commander gina <gina@example.com>" in alarms["portal-sandbox-external-elb-5xx"]["AlarmDescription"]


def test_any_other_change_of_the_platform_waits_for_a_second_sre(bootstrapped):
    PlatformSettings.objects.update(waf_rate_limit=3000)
    plan = plan_platform()
    assert plan.approval_reasons == ["changes the platform layer every service relies on"]
