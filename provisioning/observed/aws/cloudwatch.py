"""CloudWatch as the portal sees it: a service's 5xx alarm and the topic it notifies."""

from typing import Any

from ...aws.context import AwsContext, tag_dict
from ...aws.kinds import ALARM
from ...resources import Resource, aws
from .observation import Observation

# DescribeAlarms takes at most 100 names.
NAMES_PER_CALL = 100


def describe_alarms(ctx: AwsContext, names: list[str]) -> list[dict[str, Any]]:
    paginator = ctx.client("cloudwatch").get_paginator("describe_alarms")
    alarms: list[dict[str, Any]] = []
    for start in range(0, len(names), NAMES_PER_CALL):
        chunk = names[start : start + NAMES_PER_CALL]
        for page in paginator.paginate(AlarmNames=chunk, AlarmTypes=["MetricAlarm"]):
            alarms.extend(page.get("MetricAlarms", []))
    return alarms


def alarm_tags(ctx: AwsContext, arn: str) -> dict[str, str]:
    return tag_dict(ctx.client("cloudwatch").list_tags_for_resource(ResourceARN=arn).get("Tags"))


def alarm_key(name: str) -> tuple:
    """Where an observation keeps an alarm (None when it does not exist)."""
    return ("cloudwatch.alarm", name)


def remember_alarms(ctx: AwsContext, cache: dict[tuple, Any], names: list[str]) -> None:
    """Describe these alarms in as few calls as AWS allows and keep each (or its absence) in ``cache``."""
    cache.update({alarm_key(name): None for name in names})
    cache.update({alarm_key(alarm["AlarmName"]): alarm for alarm in describe_alarms(ctx, names)} if names else {})


def alarms(obs: Observation, names: list[str]) -> list[dict[str, Any]]:
    """The alarms of these names that exist; those not read yet in one batch."""
    remember_alarms(obs.ctx, obs.cache, [name for name in names if alarm_key(name) not in obs.cache])
    return [alarm for name in names if (alarm := obs.cache[alarm_key(name)]) is not None]


def declared_dimension(dimension: dict[str, str]) -> dict[str, str]:
    """A dimension as the builder declares it: ELB's ARN suffixes as the load balancer's or target group's name."""
    name, value = dimension["Name"], dimension["Value"]
    if name == "LoadBalancer" and value.count("/") == 2:
        return {"name": name, "load_balancer": value.split("/")[1]}
    if name == "TargetGroup" and value.startswith("targetgroup/"):
        return {"name": name, "target_group": value.split("/")[1]}
    return {"name": name, "value": value}


def declared(alarm: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    """An alarm as the builder declares it."""
    return {
        "description": alarm.get("AlarmDescription", ""),
        "metric": {"namespace": alarm.get("Namespace"), "name": alarm.get("MetricName")},
        "dimensions": sorted((declared_dimension(d) for d in alarm.get("Dimensions", [])), key=lambda d: d["name"]),
        "statistic": alarm.get("Statistic") or alarm.get("ExtendedStatistic"),
        "period": alarm.get("Period"),
        "evaluation_periods": alarm.get("EvaluationPeriods"),
        "datapoints_to_alarm": alarm.get("DatapointsToAlarm"),
        "threshold": alarm.get("Threshold"),
        "comparison_operator": alarm.get("ComparisonOperator"),
        "treat_missing_data": alarm.get("TreatMissingData"),
        "alarm_actions": alarm.get("AlarmActions", []),
        "ok_actions": alarm.get("OKActions", []),
        "tags": tags,
    }


class AlarmReader:
    kind = ALARM

    def observe(self, obs: Observation, desired: list[Resource], recorded: list[Resource]) -> list[Resource]:
        tagged = obs.tagged_arns("cloudwatch")
        names = {r.name for r in (*desired, *recorded)} | {arn.split(":alarm:", 1)[1] for arn in tagged}
        found = []
        for alarm in alarms(obs, sorted(names)) if names else []:
            arn = alarm["AlarmArn"]
            tags = tagged[arn] if arn in tagged else alarm_tags(obs.ctx, arn)
            found.append(aws(ALARM, alarm["AlarmName"], declared(alarm, tags)))
        return found
