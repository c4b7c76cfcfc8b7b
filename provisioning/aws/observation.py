"""The reads several handlers share during one observe, made once, on first use."""

from typing import Any

from ..names import MANAGED_TAG_VALUE, TAG_MANAGED, TAG_SERVICE
from .acm import listener_certificates
from .context import AwsContext, tag_dict
from .route53 import list_zone


class Observation:
    """One observe's shared reads: the service's tagged resources, zone listings, listener certificates."""

    def __init__(self, ctx: AwsContext):
        self.ctx = ctx
        self._zones: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        self._listener_certs: dict[str, set[str]] = {}
        self._tagged: dict[str, dict[str, str]] | None = None

    def tagged(self) -> dict[str, dict[str, str]]:
        """ARN -> tags of everything tagged for the service (one paginated GetResources)."""
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
