"""CloudWatch Logs writes: log groups (retention, tags) and a service's 5xx metric filter."""

from typing import Any

from botocore.exceptions import ClientError

from ...aws.context import AwsContext, has_tags
from ...aws.errors import is_code
from ...aws.kinds import LOG_GROUP, METRIC_FILTER
from ...names import log_group_arn
from ...observed.aws.logs import NOT_FOUND, describe_group, filter_body, group_arn, group_tags, metric_filters
from ...resources import Resource

# Groups under this prefix are named by AWS services for their own logs (EKS's control-plane group): the portal
# sets their retention and tags, but never deletes them, and its IAM policy does not let it.
AWS_OWNED_PREFIX = "/aws/"


class LogGroupWriter:
    kind = LOG_GROUP

    def apply(self, ctx: AwsContext, resource: Resource) -> dict[str, Any]:
        logs, name, body = ctx.client("logs"), resource.name, resource.body
        group, created = describe_group(ctx, name), False
        if group is None:
            try:
                logs.create_log_group(logGroupName=name, tags=body["tags"])
                # Created just now, as asked: with these tags and no retention. Its ARN is its name's.
                group, created = {"logGroupArn": log_group_arn(ctx.region, ctx.account_id, name)}, True
            except ClientError as exc:
                if not is_code(exc, "ResourceAlreadyExistsException"):
                    raise  # else another worker (or EKS itself) created it a moment ago: read what it made
                group = describe_group(ctx, name) or {}
        arn = group_arn(group) if group else ""
        if arn and not created and not has_tags(group_tags(ctx, arn), body["tags"]):
            logs.tag_resource(resourceArn=arn, tags=body["tags"])
        if group.get("retentionInDays") != body["retention_days"]:
            logs.put_retention_policy(logGroupName=name, retentionInDays=body["retention_days"])
        return {"external_id": arn}

    def delete(self, ctx: AwsContext, resource: Resource) -> None:
        if resource.name.startswith(AWS_OWNED_PREFIX):
            return
        try:
            ctx.client("logs").delete_log_group(logGroupName=resource.name)
        except ClientError as exc:
            if not is_code(exc, NOT_FOUND):
                raise


class MetricFilterWriter:
    kind = METRIC_FILTER

    def apply(self, ctx: AwsContext, resource: Resource) -> dict[str, Any]:
        same = [f for f in metric_filters(ctx, resource.namespace, resource.name) if f["filterName"] == resource.name]
        if same and filter_body(same[0]) == resource.body:
            return {}
        metric = resource.body["metric"]
        ctx.client("logs").put_metric_filter(
            logGroupName=resource.namespace,
            filterName=resource.name,
            filterPattern=resource.body["pattern"],
            metricTransformations=[
                {"metricNamespace": metric["namespace"], "metricName": metric["name"], "metricValue": metric["value"]}
            ],
        )
        return {}

    def delete(self, ctx: AwsContext, resource: Resource) -> None:
        try:
            ctx.client("logs").delete_metric_filter(logGroupName=resource.namespace, filterName=resource.name)
        except ClientError as exc:
            if not is_code(exc, NOT_FOUND):
                raise
