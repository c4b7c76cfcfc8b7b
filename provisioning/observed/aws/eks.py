"""EKS as the portal sees it: which control-plane log types the cluster sends to CloudWatch Logs."""

from typing import Any

from botocore.exceptions import ClientError

from ...aws.context import AwsContext
from ...aws.errors import is_code
from ...aws.kinds import CLUSTER_LOGGING
from ...resources import Resource, aws
from .observation import Observation


def describe_cluster(ctx: AwsContext, name: str) -> dict[str, Any] | None:
    try:
        return ctx.client("eks").describe_cluster(name=name)["cluster"]
    except ClientError as exc:
        if is_code(exc, "ResourceNotFoundException"):
            return None
        raise


def enabled_log_types(cluster: dict[str, Any]) -> set[str]:
    settings = (cluster.get("logging") or {}).get("clusterLogging", [])
    return {kind for setting in settings if setting.get("enabled") for kind in setting.get("types", [])}


class ClusterLoggingReader:
    kind = CLUSTER_LOGGING

    def observe(self, obs: Observation, desired: list[Resource], recorded: list[Resource]) -> list[Resource]:
        """Every log type the cluster knows, on or off (the builder declares only the ones it wants on)."""
        found = []
        for resource in {r.key: r for r in (*recorded, *desired)}.values():
            cluster = obs.once(("eks.cluster", resource.name), describe_cluster, obs.ctx, resource.name)
            if cluster is None:
                continue
            settings = (cluster.get("logging") or {}).get("clusterLogging", [])
            known = {kind for setting in settings for kind in setting.get("types", [])}
            enabled = enabled_log_types(cluster)
            types = {kind: kind in enabled for kind in sorted(known | enabled)}
            found.append(aws(CLUSTER_LOGGING, resource.name, {"types": types}, namespace=resource.namespace))
        return found
