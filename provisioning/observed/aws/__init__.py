"""The AWS half of a scope as it exists now: reads only, one reader per kind, in the shape the builders declare.

Resources are found by name (from what the scope declares and what the inventory recorded) and, for a service,
by its ``portal:*`` tags (Route53 records by their owner TXT record). Readers also report what AWS assigned to a
resource that others are built from (ids, ARNs, DNS names): its outputs, which the inventory keeps.
"""

from typing import Any, Protocol

from ...aws.context import AwsContext
from ...aws.kinds import (
    HOSTED_ZONE,
    IP_SET,
    LISTENER,
    LOAD_BALANCER,
    ORDER,
    PLATFORM_CERTIFICATE,
    PLATFORM_RECORD,
    SECURITY_GROUP,
    TARGET_GROUP,
    WEB_ACL,
    ZONE_DELEGATION,
)
from ...resources import Resource
from .acm import CertificateReader
from .cloudwatch import AlarmReader
from .ec2 import SecurityGroupIngressReader, SecurityGroupReader
from .eks import ClusterLoggingReader
from .elbv2 import ListenerReader, LoadBalancerReader, TargetGroupReader
from .hosts import DelegationReader, PlatformCertificateReader, PlatformRecordReader
from .logs import LogGroupReader, MetricFilterReader
from .observation import Observation
from .route53 import HostedZoneReader, RecordReader
from .sns import TopicReader
from .sweep import read_ahead
from .wafv2 import IPSetReader, WebACLAssociationReader, WebACLReader


class Reader(Protocol):
    """One AWS kind: the resources of it that exist, among those declared or recorded (and, for a service, those
    tagged for it), with the declared fields filled in from AWS."""

    kind: str

    def observe(self, obs: Observation, desired: list[Resource], recorded: list[Resource]) -> list[Resource]: ...


READERS: dict[str, Reader] = {
    reader.kind: reader
    for reader in (
        HostedZoneReader(),
        DelegationReader(),
        ClusterLoggingReader(),
        SecurityGroupReader(),
        SecurityGroupIngressReader(),
        TargetGroupReader(),
        LoadBalancerReader(),
        ListenerReader(),
        PlatformCertificateReader(),
        PlatformRecordReader(),
        IPSetReader(),
        WebACLReader(),
        WebACLAssociationReader(),
        TopicReader(),
        LogGroupReader(),
        MetricFilterReader(),
        AlarmReader(),
        CertificateReader(),
        RecordReader(),
    )
}
# Kinds whose readers report outputs (see ``Observation.outputs``).
WITH_OUTPUTS = frozenset(
    {
        HOSTED_ZONE,
        ZONE_DELEGATION,
        SECURITY_GROUP,
        TARGET_GROUP,
        LOAD_BALANCER,
        LISTENER,
        PLATFORM_CERTIFICATE,
        PLATFORM_RECORD,
        IP_SET,
        WEB_ACL,
    }
)


class AwsReader:
    """Observes one scope at a time in the context's account and region."""

    def __init__(self, ctx: AwsContext):
        self.ctx = ctx
        # A drift sweep's reads for its batch (``prefetch``); later observes answer from them.
        self.read_ahead: dict[tuple, Any] | None = None
        # Resource key -> outputs, from every observe so far.
        self.outputs: dict[str, dict[str, str]] = {}

    def observe(
        self, desired: list[Resource], recorded: list[Resource]
    ) -> tuple[dict[str, dict[str, Any] | None], list[Resource]]:
        """Observed bodies of the desired resources (None when absent), and everything of the scope that exists,
        dependents first (the order deletes go in)."""
        obs = Observation(self.ctx, self.read_ahead)
        found: dict[str, Resource] = {}
        for kind in ORDER:
            mine = [r for r in desired if r.kind == kind]
            known = [r for r in recorded if r.kind == kind]
            for resource in READERS[kind].observe(obs, mine, known):
                found.setdefault(resource.key, resource)
        self.outputs |= obs.outputs
        observed = {r.key: (found[r.key].body if r.key in found else None) for r in desired}
        existing = sorted(found.values(), key=lambda r: -ORDER.index(r.kind))
        return observed, existing

    def outputs_of(self, resource: Resource) -> dict[str, str]:
        """What AWS assigned to the resource, from the last observe or read now; {} for kinds without outputs."""
        if resource.kind in WITH_OUTPUTS and resource.key not in self.outputs:
            obs = Observation(self.ctx)
            READERS[resource.kind].observe(obs, [resource], [])
            self.outputs |= obs.outputs
        return self.outputs.get(resource.key, {})

    def prefetch(self, services: list[str], log_groups: set[str], alarms: set[str], filter_groups: set[str]) -> None:
        """Read ahead once for many services' read-only checks (``sweep.read_ahead``)."""
        self.read_ahead = read_ahead(self.ctx, services, log_groups, alarms, filter_groups)
