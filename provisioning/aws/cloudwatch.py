"""CloudWatch: the service's 5xx alarm, notifying its team's topic (the metric comes from a log metric filter)."""

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..desired.aws import ALARM, aws
from ..diff import declared_diff
from ..resources import Resource
from .context import AwsContext, has_tags, not_bootstrapped, tag_dict, tag_list
from .errors import is_code

if TYPE_CHECKING:
    from .observation import Observation


def describe_alarms(ctx: AwsContext, names: list[str]) -> list[dict[str, Any]]:
    paginator = ctx.client("cloudwatch").get_paginator("describe_alarms")
    alarms: list[dict[str, Any]] = []
    for start in range(0, len(names), 100):
        for page in paginator.paginate(AlarmNames=names[start : start + 100], AlarmTypes=["MetricAlarm"]):
            alarms.extend(page.get("MetricAlarms", []))
    return alarms


def alarm_tags(ctx: AwsContext, arn: str) -> dict[str, str]:
    return tag_dict(ctx.client("cloudwatch").list_tags_for_resource(ResourceARN=arn).get("Tags"))


def declared(alarm: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    """An alarm as the builder declares it."""
    return {
        "description": alarm.get("AlarmDescription", ""),
        "metric": {"namespace": alarm.get("Namespace"), "name": alarm.get("MetricName")},
        "statistic": alarm.get("Statistic"),
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


class AlarmHandler:
    kind = ALARM

    def observe(self, obs: "Observation", desired: list[Resource], recorded: list[Resource]) -> list[Resource]:
        tagged = obs.tagged_arns("cloudwatch")
        names = {r.name for r in (*desired, *recorded)} | {arn.split(":alarm:", 1)[1] for arn in tagged}
        found = []
        for alarm in obs.alarms(sorted(names)) if names else []:
            arn = alarm["AlarmArn"]
            tags = tagged[arn] if arn in tagged else alarm_tags(obs.ctx, arn)
            found.append(aws(ALARM, alarm["AlarmName"], declared(alarm, tags)))
        return found

    def apply(self, ctx: AwsContext, resource: Resource) -> dict[str, Any]:
        body = resource.body
        if any(not arn.split(":")[4] for arn in body["alarm_actions"]):  # the topic's ARN lacks the account
            raise not_bootstrapped(resource.label(), "AWS account id")
        cloudwatch = ctx.client("cloudwatch")
        current = next(iter(describe_alarms(ctx, [resource.name])), None)
        config = {k: v for k, v in body.items() if k != "tags"}
        if current is None or declared_diff(config, declared(current, {})):
            cloudwatch.put_metric_alarm(
                AlarmName=resource.name,
                AlarmDescription=body["description"],
                Namespace=body["metric"]["namespace"],
                MetricName=body["metric"]["name"],
                Statistic=body["statistic"],
                Period=body["period"],
                EvaluationPeriods=body["evaluation_periods"],
                DatapointsToAlarm=body["datapoints_to_alarm"],
                Threshold=body["threshold"],
                ComparisonOperator=body["comparison_operator"],
                TreatMissingData=body["treat_missing_data"],
                ActionsEnabled=True,
                AlarmActions=body["alarm_actions"],
                OKActions=body["ok_actions"],
                Tags=tag_list(body["tags"]),  # only taken when the alarm is new
            )
        if current is not None and not has_tags(alarm_tags(ctx, current["AlarmArn"]), body["tags"]):
            cloudwatch.tag_resource(ResourceARN=current["AlarmArn"], Tags=tag_list(body["tags"]))
        alarm = current or next(iter(describe_alarms(ctx, [resource.name])), {})
        return {"external_id": alarm.get("AlarmArn", "")}

    def delete(self, ctx: AwsContext, resource: Resource) -> None:
        try:
            ctx.client("cloudwatch").delete_alarms(AlarmNames=[resource.name])
        except ClientError as exc:
            if not is_code(exc, "ResourceNotFound", "ResourceNotFoundException"):
                raise
