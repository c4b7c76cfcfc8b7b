"""The platform's own AWS alarms (seed §18-3, §19: CloudWatch Alarm -> SNS), to the SRE team's topic.

The platform team is a team like any other: ``platform.sre_team`` names its slug, and these alarms notify that
team's incident topic (the one its services keep; the SNS subscription to its incident tool's CloudWatch source is
the team's own setting); the platform renders that topic too, so it exists even when the team runs no service (the
same body its services render; its inventory scope stays the team's). Without an SRE team there is no one to
notify, so nothing is rendered.

Per exposure level, from the ALB's and the WAF's own metrics:

- ``HTTPCode_ELB_5XX_Count`` of the ALB: errors the load balancer answers itself (no healthy target, the gateway
  unreachable), which no sidecar or gateway log ever sees;
- ``HTTPCode_Target_5XX_Count`` and ``TargetResponseTime`` (p99) of the level's one target group, the Istio
  ingress gateway: every service of the level shares it (ALB -> NodePort -> gateway), so these say that the
  level's front door fails or slows, not which service does (each service's own log-derived 5xx alarm and its
  burn-rate alerts say that);
- ``BlockedRequests`` of the level's web ACL: a spike of rejected requests (an attack, or a rule blocking
  legitimate traffic).

Each description names the SRE team's pair on call (the SNS notification carries it to the incident tool's
CloudWatch source), refreshed at each hand-over like the cluster alerts.

Bodies name the load balancer and target group (the writer turns names into the ARN suffixes CloudWatch's
dimensions hold), so the plan of a fresh platform is complete.
"""

from provisioning import names
from provisioning.aws.kinds import ALARM
from provisioning.desired.aws import alarm_description, team_topic
from provisioning.resources import Resource, aws
from provisioning.spec import EXPOSED_LEVELS, PlatformSpec, TeamSpec

ALB_NAMESPACE = "AWS/ApplicationELB"
WAF_NAMESPACE = "AWS/WAFV2"
PERIOD_SECONDS = 60

# (alarm suffix, namespace, metric, statistic, threshold, what it means)
ELB_5XX = ("elb-5xx", ALB_NAMESPACE, "HTTPCode_ELB_5XX_Count", "Sum", 10, "5xx answered by the {level} ALB itself")
TARGET_5XX = ("target-5xx", ALB_NAMESPACE, "HTTPCode_Target_5XX_Count", "Sum", 50, "5xx from the {level} gateway")
TARGET_P99 = (
    "target-p99",
    ALB_NAMESPACE,
    "TargetResponseTime",
    "p99",
    2,
    "p99 response time (s) of the {level} gateway",
)
WAF_BLOCKED = ("waf-blocked", WAF_NAMESPACE, "BlockedRequests", "Sum", 500, "requests the {level} web ACL blocked")


def platform_alarm_name(cluster: str, level: str, suffix: str) -> str:
    return f"portal-{cluster}-{level}-{suffix}"


def build_platform_alarms(platform: PlatformSpec) -> list[Resource]:
    """The level's ALB, gateway and WAF alarms, notifying the SRE team's topic; none without an SRE team."""
    if not platform.sre_team:
        return []
    topic = names.sns_topic_arn(platform.region, platform.aws_account_id, names.team_topic_name(platform.sre_team))
    sre = TeamSpec(
        slug=platform.sre_team, name=platform.sre_team, incident_sns_fingerprint=platform.sre_incident_sns_fingerprint
    )
    # The topic is the team's (its inventory scope), whether or not the team has services of its own.
    resources = [team_topic(sre, platform.sre_receivers.sns_url)]
    for level in EXPOSED_LEVELS:
        alb = names.alb_name(platform.cluster_name, level)
        target_group = names.target_group_name(platform.cluster_name, level)
        dimensions = {
            ELB_5XX: [{"name": "LoadBalancer", "load_balancer": alb}],
            TARGET_5XX: [
                {"name": "LoadBalancer", "load_balancer": alb},
                {"name": "TargetGroup", "target_group": target_group},
            ],
            TARGET_P99: [
                {"name": "LoadBalancer", "load_balancer": alb},
                {"name": "TargetGroup", "target_group": target_group},
            ],
            WAF_BLOCKED: [
                {"name": "Region", "value": platform.region},
                {"name": "Rule", "value": "ALL"},
                {"name": "WebACL", "value": names.web_acl_name(platform.cluster_name, level)},
            ],
        }
        for signal, dims in dimensions.items():
            suffix, namespace, metric, statistic, threshold, what = signal
            name = platform_alarm_name(platform.cluster_name, level, suffix)
            body = {
                "description": alarm_description(
                    f"{what.format(level=level)} above {threshold} in 3 of 5 minutes", platform.sre_oncall
                ),
                "metric": {"namespace": namespace, "name": metric},
                "dimensions": dims,
                "statistic": statistic,
                "period": PERIOD_SECONDS,
                "evaluation_periods": 5,
                "datapoints_to_alarm": 3,
                "threshold": threshold,
                "comparison_operator": "GreaterThanThreshold",
                "treat_missing_data": "notBreaching",
                "alarm_actions": [topic],
                "ok_actions": [topic],
                "tags": names.platform_tags(name),
            }
            resources.append(aws(ALARM, name, body))
    return resources
