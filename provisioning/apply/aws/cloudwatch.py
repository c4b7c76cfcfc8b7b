"""CloudWatch writes: a service's 5xx alarm, notifying its team's topic."""

from typing import Any

from botocore.exceptions import ClientError

from ...aws.context import AwsContext, has_tags, not_bootstrapped, tag_list
from ...aws.errors import is_code
from ...aws.kinds import ALARM
from ...diff import declared_diff
from ...observed.aws.cloudwatch import alarm_tags, declared, describe_alarms
from ...resources import Resource


class AlarmWriter:
    kind = ALARM

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
