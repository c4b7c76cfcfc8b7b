"""EKS writes: the control-plane log types the platform wants sent to CloudWatch Logs."""

from typing import Any

from ...aws.context import AwsContext
from ...aws.kinds import CLUSTER_LOGGING
from ...errors import PermanentError
from ...observed.aws.eks import describe_cluster, enabled_log_types
from ...resources import Resource


class ClusterLoggingWriter:
    kind = CLUSTER_LOGGING

    def apply(self, ctx: AwsContext, resource: Resource) -> dict[str, Any]:
        """Turn the declared types on (or off); types nobody declared stay as they are."""
        cluster = describe_cluster(ctx, resource.name)
        if cluster is None:
            raise PermanentError(
                f"{resource.label()}: no EKS cluster {resource.name} in {ctx.region}; the platform settings name the "
                "cluster the portal provisions into (cluster_name)",
                code="ClusterNotFound",
            )
        enabled = enabled_log_types(cluster)
        types = resource.body["types"]
        turn_on = sorted(kind for kind, on in types.items() if on and kind not in enabled)
        turn_off = sorted(kind for kind, on in types.items() if not on and kind in enabled)
        settings = [{"types": turn_on, "enabled": True}] if turn_on else []
        settings += [{"types": turn_off, "enabled": False}] if turn_off else []
        if settings:
            ctx.client("eks").update_cluster_config(name=resource.name, logging={"clusterLogging": settings})
        return {}

    def delete(self, ctx: AwsContext, resource: Resource) -> None:
        """Control-plane logs the platform turned on stay on: turning audit logs off is for people to decide."""
