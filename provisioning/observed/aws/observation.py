"""One observe's reads, each made once on first use, and the outputs the readers found on the way."""

from collections.abc import Callable
from typing import Any, TypeVar

from ...aws.context import AwsContext, tag_dict
from ...names import MANAGED_TAG_VALUE, TAG_MANAGED, TAG_SERVICE

T = TypeVar("T")


def tagged_resources(ctx: AwsContext, services: list[str]) -> dict[str, dict[str, dict[str, str]]]:
    """Service -> ARN -> tags of everything tagged for these services (one paginated GetResources; AWS takes at
    most 20 values per tag filter)."""
    found: dict[str, dict[str, dict[str, str]]] = {service: {} for service in services}
    filters = [{"Key": TAG_SERVICE, "Values": services}, {"Key": TAG_MANAGED, "Values": [MANAGED_TAG_VALUE]}]
    paginator = ctx.client("resourcegroupstaggingapi").get_paginator("get_resources")
    for page in paginator.paginate(TagFilters=filters):
        for item in page.get("ResourceTagMappingList", []):
            tags = tag_dict(item.get("Tags"))
            if tags.get(TAG_SERVICE) in found:
                found[tags[TAG_SERVICE]][item["ResourceARN"]] = tags
    return found


class Observation:
    """The reads several readers share in one observe: keyed by what was read, made once.

    ``cache`` outlives the observe when a drift sweep read ahead for its batch (``observed.aws.sweep``): the
    batch's observes then answer from it, and share what services have in common (team topics, zones, listener
    certificates). What it holds is as old as the batch: read-only checks only.
    """

    def __init__(self, ctx: AwsContext, cache: dict[tuple, Any] | None = None):
        self.ctx = ctx
        self.cache = cache if cache is not None else {}
        # Resource key -> what AWS assigned to it (ids, ARNs, DNS names) that others are built from.
        self.outputs: dict[str, dict[str, str]] = {}

    def once(self, key: tuple, read: Callable[..., T], *args: Any) -> T:
        """``read(*args)``, made the first time ``key`` is asked for."""
        if key not in self.cache:
            self.cache[key] = read(*args)
        return self.cache[key]

    def tagged(self) -> dict[str, dict[str, str]]:
        """ARN -> tags of everything tagged for the service being observed (nothing for the platform)."""
        service = self.ctx.service
        if not service:
            return {}
        return self.once(("tagged", service), lambda: tagged_resources(self.ctx, [service])[service])

    def tagged_arns(self, aws_service: str) -> dict[str, dict[str, str]]:
        """The service's tagged ARNs of one AWS service (``acm``, ``logs``, ``cloudwatch``)."""
        return {arn: tags for arn, tags in self.tagged().items() if arn.split(":")[2:3] == [aws_service]}
