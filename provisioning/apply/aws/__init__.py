"""Writes to AWS, one writer per kind: idempotent boto3 calls that look the resource up (by name and tags) before
they write, and write only what differs. The only module tree that changes anything in AWS."""

from typing import Any, Protocol

from ...aws.context import AwsContext
from ...resources import Resource
from .acm import CertificateWriter
from .cloudwatch import AlarmWriter
from .ec2 import SecurityGroupIngressWriter, SecurityGroupWriter
from .eks import ClusterLoggingWriter
from .elbv2 import ListenerWriter, LoadBalancerWriter, TargetGroupWriter
from .hosts import DelegationWriter, PlatformCertificateWriter, PlatformRecordWriter
from .logs import LogGroupWriter, MetricFilterWriter
from .route53 import HostedZoneWriter, RecordWriter
from .sns import TopicWriter
from .wafv2 import IPSetWriter, WebACLAssociationWriter, WebACLWriter


class Writer(Protocol):
    """One AWS kind: apply (create or converge) and delete, both safe to repeat.

    ``apply`` answers ``{"external_id": ..., "outputs": {...}}`` (either may be missing): the resource's ARN or id,
    and what AWS assigned to it that others are built from.
    """

    kind: str

    def apply(self, ctx: AwsContext, resource: Resource) -> dict[str, Any]: ...

    def delete(self, ctx: AwsContext, resource: Resource) -> None: ...


WRITERS: dict[str, Writer] = {
    writer.kind: writer
    for writer in (
        HostedZoneWriter(),
        DelegationWriter(),
        ClusterLoggingWriter(),
        SecurityGroupWriter(),
        SecurityGroupIngressWriter(),
        TargetGroupWriter(),
        LoadBalancerWriter(),
        ListenerWriter(),
        PlatformCertificateWriter(),
        PlatformRecordWriter(),
        IPSetWriter(),
        WebACLWriter(),
        WebACLAssociationWriter(),
        TopicWriter(),
        LogGroupWriter(),
        MetricFilterWriter(),
        AlarmWriter(),
        CertificateWriter(),
        RecordWriter(),
    )
}


class AwsWriter:
    """Applies and deletes resources in the context's account and region."""

    def __init__(self, ctx: AwsContext):
        self.ctx = ctx

    def apply(self, resource: Resource) -> dict[str, Any]:
        return WRITERS[resource.kind].apply(self.ctx, resource)

    def delete(self, resource: Resource) -> None:
        WRITERS[resource.kind].delete(self.ctx, resource)
