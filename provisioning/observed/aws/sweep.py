"""What a drift sweep reads once for a batch of services, before their observes (``AwsReader.prefetch``):
their tagged resources (one GetResources per 20 services), their log groups (one listing per parent prefix),
the metric filters of those groups and their alarms (one DescribeAlarms per 100). The observes then answer
from it, as they would from their own reads."""

import contextvars
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ...aws.context import AwsContext
from .cloudwatch import remember_alarms
from .logs import filters_key, group_key, group_name, list_groups, metric_filters
from .observation import tagged_resources

# GetResources accepts at most 20 values per tag filter.
TAG_VALUES_PER_CALL = 20
# Reads that can only be made one resource at a time go side by side, this many at once.
PARALLEL_READS = 8


def read_ahead(
    ctx: AwsContext, services: list[str], log_groups: set[str], alarms: set[str], filter_groups: set[str]
) -> dict[tuple, Any]:
    """The batch's reads as an observation cache. DescribeMetricFilters stays one call per log group (the IAM
    policy scopes it to the portal's groups), so those go side by side."""
    cache: dict[tuple, Any] = {}
    services = sorted(set(services))
    tagged: dict[str, dict[str, dict[str, str]]] = {}
    for start in range(0, len(services), TAG_VALUES_PER_CALL):
        tagged |= tagged_resources(ctx, services[start : start + TAG_VALUES_PER_CALL])
    cache.update({("tagged", service): found for service, found in tagged.items()})
    arns = [arn for found in tagged.values() for arn in found]

    def of(aws_service: str) -> list[str]:
        return [arn for arn in arns if arn.split(":")[2:3] == [aws_service]]

    names = log_groups | {group_name(arn) for arn in of("logs")}
    by_prefix: dict[str, set[str]] = defaultdict(set)
    for name in names:
        by_prefix[name.rsplit("/", 1)[0] + "/"].add(name)
    for prefix, wanted in sorted(by_prefix.items()):
        listed = {group["logGroupName"]: group for group in list_groups(ctx, prefix)}
        cache.update({group_key(name): listed.get(name) for name in wanted})
    groups = sorted(filter_groups | {name for name in names if cache.get(group_key(name)) is not None})
    with ThreadPoolExecutor(PARALLEL_READS) as pool:
        # Each call in a copy of this context: the backend's call counter is a context variable.
        found = pool.map(lambda group: contextvars.copy_context().run(metric_filters, ctx, group), groups)
        cache.update({filters_key(group): filters for group, filters in zip(groups, found, strict=True)})
    remember_alarms(ctx, cache, sorted(alarms | {arn.split(":alarm:", 1)[1] for arn in of("cloudwatch")}))
    return cache
