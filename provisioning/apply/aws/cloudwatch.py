"""CloudWatch writes: a service's 5xx alarm, notifying its team's topic; the platform's ALB and WAF alarms."""

import re
from typing import Any

from botocore.exceptions import ClientError

from ...aws.context import AwsContext, has_tags, tag_list
from ...aws.errors import is_code
from ...aws.kinds import ALARM
from ...diff import declared_diff
from ...names import alarm_arn
from ...observed.aws.cloudwatch import alarm_tags, declared, describe_alarms
from ...resources import Resource

PERCENTILE = re.compile(r"^p\d+(\.\d+)?$")


def dimension(ctx: AwsContext, declared_dimension: dict[str, str]) -> dict[str, str]:
    """A dimension as CloudWatch takes it: a load balancer or target group named in the body becomes the suffix
    of its ARN (``app/<name>/<id>``, ``targetgroup/<name>/<id>``), which is what ELB's metrics carry."""
    name = declared_dimension["name"]
    if "load_balancer" in declared_dimension:
        alb = declared_dimension["load_balancer"]
        arn = ctx.client("elbv2").describe_load_balancers(Names=[alb])["LoadBalancers"][0]["LoadBalancerArn"]
        return {"Name": name, "Value": arn.split(":loadbalancer/", 1)[1]}
    if "target_group" in declared_dimension:
        group = declared_dimension["target_group"]
        arn = ctx.client("elbv2").describe_target_groups(Names=[group])["TargetGroups"][0]["TargetGroupArn"]
        return {"Name": name, "Value": arn.rsplit(":", 1)[1]}
    return {"Name": name, "Value": declared_dimension["value"]}


def with_account(ctx: AwsContext, arn: str) -> str:
    parts = arn.split(":")
    if parts[4]:
        return arn
    return ":".join([*parts[:4], ctx.account_id, *parts[5:]])


class AlarmWriter:
    kind = ALARM

    def apply(self, ctx: AwsContext, resource: Resource) -> dict[str, Any]:
        body = resource.body
        # Before the platform's first apply reported its account, the topic's ARN lacks it: the caller's.
        body = body | {key: [with_account(ctx, arn) for arn in body[key]] for key in ("alarm_actions", "ok_actions")}
        cloudwatch = ctx.client("cloudwatch")
        current = next(iter(describe_alarms(ctx, [resource.name])), None)
        config = {k: v for k, v in body.items() if k != "tags"}
        if current is None or declared_diff(config, declared(current, {})):
            statistic = body["statistic"]
            cloudwatch.put_metric_alarm(
                AlarmName=resource.name,
                AlarmDescription=body["description"],
                Namespace=body["metric"]["namespace"],
                MetricName=body["metric"]["name"],
                Dimensions=[dimension(ctx, d) for d in body.get("dimensions", [])],
                **({"ExtendedStatistic": statistic} if PERCENTILE.match(statistic) else {"Statistic": statistic}),
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
        # PutMetricAlarm answers nothing: a new alarm's ARN is its name's.
        arn = current["AlarmArn"] if current else alarm_arn(ctx.region, ctx.account_id, resource.name)
        return {"external_id": arn}

    def delete(self, ctx: AwsContext, resource: Resource) -> None:
        try:
            ctx.client("cloudwatch").delete_alarms(AlarmNames=[resource.name])
        except ClientError as exc:
            if not is_code(exc, "ResourceNotFound", "ResourceNotFoundException"):
                raise
