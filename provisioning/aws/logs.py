"""CloudWatch Logs: the service's log group (retention, tags) and the metric filter that counts its 5xx."""

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..desired.aws import LOG_GROUP, METRIC_FILTER, aws
from ..names import metric_filter_name
from ..resources import Resource
from .context import AwsContext, has_tags
from .errors import is_code

if TYPE_CHECKING:
    from .observation import Observation

NOT_FOUND = "ResourceNotFoundException"


def list_groups(ctx: AwsContext, prefix: str) -> list[dict[str, Any]]:
    """Every log group whose name starts with ``prefix`` (one paginated DescribeLogGroups)."""
    paginator = ctx.client("logs").get_paginator("describe_log_groups")
    return [group for page in paginator.paginate(logGroupNamePrefix=prefix) for group in page.get("logGroups", [])]


def describe_group(ctx: AwsContext, name: str) -> dict[str, Any] | None:
    return next((group for group in list_groups(ctx, name) if group["logGroupName"] == name), None)


def group_arn(group: dict[str, Any]) -> str:
    return group.get("logGroupArn") or group["arn"].removesuffix(":*")


def group_name(arn: str) -> str:
    return arn.split(":log-group:", 1)[1].removesuffix(":*")


def group_tags(ctx: AwsContext, arn: str) -> dict[str, str]:
    return ctx.client("logs").list_tags_for_resource(resourceArn=arn).get("tags", {})


def metric_filters(ctx: AwsContext, group: str, prefix: str = "") -> list[dict[str, Any]]:
    """The metric filters of a log group ([] when the group does not exist)."""
    paginator = ctx.client("logs").get_paginator("describe_metric_filters")
    kwargs = {"logGroupName": group, **({"filterNamePrefix": prefix} if prefix else {})}
    try:
        return [f for page in paginator.paginate(**kwargs) for f in page.get("metricFilters", [])]
    except ClientError as exc:
        if is_code(exc, NOT_FOUND):
            return []
        raise


def filter_body(item: dict[str, Any]) -> dict[str, Any]:
    """A metric filter as the builder declares it."""
    transform = (item.get("metricTransformations") or [{}])[0]
    return {
        "pattern": item.get("filterPattern", ""),
        "metric": {
            "namespace": transform.get("metricNamespace"),
            "name": transform.get("metricName"),
            "value": transform.get("metricValue"),
        },
    }


class LogGroupHandler:
    kind = LOG_GROUP

    def observe(self, obs: "Observation", desired: list[Resource], recorded: list[Resource]) -> list[Resource]:
        tagged = obs.tagged_arns("logs")
        names = {r.name for r in (*desired, *recorded)} | {group_name(arn) for arn in tagged}
        found = []
        for name in sorted(names):
            group = obs.log_group(name)
            if group is None:
                continue
            arn = group_arn(group)
            tags = tagged[arn] if arn in tagged else group_tags(obs.ctx, arn)
            found.append(aws(LOG_GROUP, name, {"retention_days": group.get("retentionInDays"), "tags": tags}))
        return found

    def apply(self, ctx: AwsContext, resource: Resource) -> dict[str, Any]:
        logs, name, body = ctx.client("logs"), resource.name, resource.body
        group, created = describe_group(ctx, name), False
        if group is None:
            try:
                logs.create_log_group(logGroupName=name, tags=body["tags"])
                created = True
            except ClientError as exc:
                if not is_code(exc, "ResourceAlreadyExistsException"):
                    raise  # else another worker created it a moment ago
            group = describe_group(ctx, name) or {}
        arn = group_arn(group) if group else ""
        if arn and not created and not has_tags(group_tags(ctx, arn), body["tags"]):
            logs.tag_resource(resourceArn=arn, tags=body["tags"])
        if group.get("retentionInDays") != body["retention_days"]:
            logs.put_retention_policy(logGroupName=name, retentionInDays=body["retention_days"])
        return {"external_id": arn}

    def delete(self, ctx: AwsContext, resource: Resource) -> None:
        try:
            ctx.client("logs").delete_log_group(logGroupName=resource.name)
        except ClientError as exc:
            if not is_code(exc, NOT_FOUND):
                raise


class MetricFilterHandler:
    kind = METRIC_FILTER

    def observe(self, obs: "Observation", desired: list[Resource], recorded: list[Resource]) -> list[Resource]:
        """The service's filters in the log groups it declares or has recorded (or that are tagged for it)."""
        keys = {r.key for r in (*desired, *recorded)}
        groups = {r.namespace for r in (*desired, *recorded)}
        groups |= {group_name(arn) for arn in obs.tagged_arns("logs")}
        mine = metric_filter_name(obs.ctx.service) if obs.ctx.service else None
        found = []
        for group in sorted(groups):
            for item in obs.metric_filters(group):
                resource = aws(METRIC_FILTER, item["filterName"], filter_body(item), namespace=group)
                if resource.key in keys or item["filterName"] == mine:
                    found.append(resource)
        return found

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
