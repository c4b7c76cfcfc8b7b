"""CloudWatch Logs as the portal sees it: log groups (a service's, the EKS control plane's) with their retention
and tags, and the metric filter that counts a service's 5xx."""

from typing import Any

from botocore.exceptions import ClientError

from ...aws.context import AwsContext
from ...aws.errors import is_code
from ...aws.kinds import LOG_GROUP, METRIC_FILTER
from ...names import metric_filter_name
from ...resources import Resource, aws
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


def group_key(name: str) -> tuple:
    """Where an observation keeps a log group (None when it does not exist)."""
    return ("logs.group", name)


def filters_key(group: str) -> tuple:
    """Where an observation keeps a log group's metric filters."""
    return ("logs.filters", group)


def log_group(obs: Observation, name: str) -> dict[str, Any] | None:
    return obs.once(group_key(name), describe_group, obs.ctx, name)


def group_filters(obs: Observation, group: str) -> list[dict[str, Any]]:
    """A log group's metric filters; none, without a read, in a group this observe found absent (a group's filters
    go with it)."""
    if group_key(group) in obs.cache and obs.cache[group_key(group)] is None:
        return []
    return obs.once(filters_key(group), metric_filters, obs.ctx, group)


class LogGroupReader:
    kind = LOG_GROUP

    def observe(self, obs: Observation, desired: list[Resource], recorded: list[Resource]) -> list[Resource]:
        tagged = obs.tagged_arns("logs")
        names = {r.name for r in (*desired, *recorded)} | {group_name(arn) for arn in tagged}
        found = []
        for name in sorted(names):
            group = log_group(obs, name)
            if group is None:
                continue
            arn = group_arn(group)
            tags = tagged[arn] if arn in tagged else group_tags(obs.ctx, arn)
            found.append(aws(LOG_GROUP, name, {"retention_days": group.get("retentionInDays"), "tags": tags}))
        return found


class MetricFilterReader:
    kind = METRIC_FILTER

    def observe(self, obs: Observation, desired: list[Resource], recorded: list[Resource]) -> list[Resource]:
        """The service's filters in the log groups it declares or has recorded (or that are tagged for it)."""
        keys = {r.key for r in (*desired, *recorded)}
        groups = {r.namespace for r in (*desired, *recorded)}
        groups |= {group_name(arn) for arn in obs.tagged_arns("logs")}
        mine = metric_filter_name(obs.ctx.service) if obs.ctx.service else None
        found = []
        for group in sorted(groups):
            for item in group_filters(obs, group):
                resource = aws(METRIC_FILTER, item["filterName"], filter_body(item), namespace=group)
                if resource.key in keys or item["filterName"] == mine:
                    found.append(resource)
        return found
