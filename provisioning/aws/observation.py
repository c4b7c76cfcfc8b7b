"""The reads several handlers share during one observe, made once, on first use; and the reads a drift sweep
shares across the services of one batch (``SweepReads``), made ahead for all of them."""

import contextvars
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..names import MANAGED_TAG_VALUE, TAG_MANAGED, TAG_SERVICE
from .acm import listener_certificates
from .cloudwatch import describe_alarms
from .context import AwsContext, tag_dict
from .logs import describe_group, list_groups, metric_filters
from .route53 import list_zone
from .sns import topic_state

# GetResources accepts at most 20 values per tag filter.
TAG_VALUES_PER_CALL = 20
# Reads that can only be made one resource at a time go side by side, this many at once.
PARALLEL_READS = 8


class SweepReads:
    """Reads made once for many services (a drift sweep's batch): their tagged resources, their log groups and
    alarms by name, and what services share (team topics, zones, listener certificates), memoized.

    Only for read-only checks: what it holds is as old as the batch.
    """

    def __init__(self) -> None:
        self.tagged: dict[str, dict[str, dict[str, str]]] = {}
        self.log_groups: dict[str, dict[str, Any] | None] = {}
        self.alarms: dict[str, dict[str, Any] | None] = {}
        self.metric_filters: dict[str, list[dict[str, Any]]] = {}
        self.topics: dict[str, dict[str, Any] | None] = {}
        self.zones: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        self.listener_certs: dict[str, set[str]] = {}

    def load(
        self, ctx: AwsContext, services: list[str], log_groups: set[str], alarms: set[str], filter_groups: set[str]
    ) -> None:
        """Tagged resources of ``services`` (one GetResources per 20), the log groups named or tagged (one listing
        per parent prefix), the alarms named or tagged (one DescribeAlarms per 100), and the metric filters of
        the log groups (one DescribeMetricFilters per group: the IAM policy scopes it to the portal's groups, so
        these are read side by side)."""
        services = sorted(set(services))
        for start in range(0, len(services), TAG_VALUES_PER_CALL):
            chunk = services[start : start + TAG_VALUES_PER_CALL]
            self.tagged.update({service: {} for service in chunk})
            filters = [{"Key": TAG_SERVICE, "Values": chunk}, {"Key": TAG_MANAGED, "Values": [MANAGED_TAG_VALUE]}]
            paginator = ctx.client("resourcegroupstaggingapi").get_paginator("get_resources")
            for page in paginator.paginate(TagFilters=filters):
                for item in page.get("ResourceTagMappingList", []):
                    tags = tag_dict(item.get("Tags"))
                    if tags.get(TAG_SERVICE) in self.tagged:
                        self.tagged[tags[TAG_SERVICE]][item["ResourceARN"]] = tags
        tagged_groups = {arn.split(":log-group:", 1)[1].removesuffix(":*") for arn in self._arns("logs")}
        names = log_groups | tagged_groups
        by_prefix: dict[str, set[str]] = defaultdict(set)
        for name in names:
            by_prefix[name.rsplit("/", 1)[0] + "/"].add(name)
        for prefix, wanted in sorted(by_prefix.items()):
            listed = {group["logGroupName"]: group for group in list_groups(ctx, prefix)}
            self.log_groups.update({name: listed.get(name) for name in wanted})
        groups = sorted(filter_groups | {name for name in names if self.log_groups.get(name) is not None})
        with ThreadPoolExecutor(PARALLEL_READS) as pool:
            # Each call in a copy of this context: the backend's call counter is a context variable.
            found = pool.map(lambda group: contextvars.copy_context().run(metric_filters, ctx, group), groups)
            self.metric_filters.update(zip(groups, found, strict=True))
        names = sorted(alarms | {arn.split(":alarm:", 1)[1] for arn in self._arns("cloudwatch")})
        self.alarms.update(dict.fromkeys(names))
        self.alarms.update({alarm["AlarmName"]: alarm for alarm in describe_alarms(ctx, names)} if names else {})

    def _arns(self, aws_service: str) -> list[str]:
        return [arn for found in self.tagged.values() for arn in found if arn.split(":")[2:3] == [aws_service]]


class Observation:
    """One observe's shared reads: the service's tagged resources, zone listings, listener certificates, team
    topics. With ``sweep`` (a drift sweep) they come from the batch's reads when it holds them."""

    def __init__(self, ctx: AwsContext, sweep: SweepReads | None = None):
        self.ctx = ctx
        self.sweep = sweep
        memo = sweep or SweepReads()
        self._zones = memo.zones
        self._listener_certs = memo.listener_certs
        self._topics = memo.topics
        self._tagged: dict[str, dict[str, str]] | None = None

    def tagged(self) -> dict[str, dict[str, str]]:
        """ARN -> tags of everything tagged for the service (one paginated GetResources)."""
        if self._tagged is None and self.sweep is not None and self.ctx.service in self.sweep.tagged:
            self._tagged = self.sweep.tagged[self.ctx.service]
        if self._tagged is None:
            self._tagged = {}
            if self.ctx.service:
                paginator = self.ctx.client("resourcegroupstaggingapi").get_paginator("get_resources")
                filters = [
                    {"Key": TAG_SERVICE, "Values": [self.ctx.service]},
                    {"Key": TAG_MANAGED, "Values": [MANAGED_TAG_VALUE]},
                ]
                for page in paginator.paginate(TagFilters=filters):
                    for item in page.get("ResourceTagMappingList", []):
                        self._tagged[item["ResourceARN"]] = tag_dict(item.get("Tags"))
        return self._tagged

    def tagged_arns(self, service: str) -> dict[str, dict[str, str]]:
        """The tagged ARNs of one AWS service (``acm``, ``logs``, ``cloudwatch``)."""
        return {arn: tags for arn, tags in self.tagged().items() if arn.split(":")[2:3] == [service]}

    def zone(self, zone_id: str) -> dict[tuple[str, str], dict[str, Any]]:
        if zone_id not in self._zones:
            self._zones[zone_id] = list_zone(self.ctx, zone_id)
        return self._zones[zone_id]

    def listener_certificates(self, listener_arn: str) -> set[str]:
        if listener_arn not in self._listener_certs:
            self._listener_certs[listener_arn] = listener_certificates(self.ctx, listener_arn)
        return self._listener_certs[listener_arn]

    def log_group(self, name: str) -> dict[str, Any] | None:
        if self.sweep is not None and name in self.sweep.log_groups:
            return self.sweep.log_groups[name]
        return describe_group(self.ctx, name)

    def metric_filters(self, group: str) -> list[dict[str, Any]]:
        if self.sweep is not None and group in self.sweep.metric_filters:
            return self.sweep.metric_filters[group]
        return metric_filters(self.ctx, group)

    def alarms(self, names: list[str]) -> list[dict[str, Any]]:
        if self.sweep is not None and all(name in self.sweep.alarms for name in names):
            return [alarm for name in names if (alarm := self.sweep.alarms[name]) is not None]
        return describe_alarms(self.ctx, names)

    def topic(self, name: str) -> dict[str, Any] | None:
        """A topic's subscriptions and tags (None when it does not exist); a team's topic is read once."""
        if name not in self._topics:
            self._topics[name] = topic_state(self.ctx, name)
        return self._topics[name]
