"""What the writers of the platform's shared pieces share: a same-named piece is adopted only when it carries the
platform's tags, and a missing one is created only when the platform settings allow it."""

from ...aws.context import AwsContext, has_tags
from ...errors import PermanentError
from ...names import OWNER_PLATFORM, TAG_OWNER, platform_identity


def claim(tags: dict[str, str], what: str) -> None:
    """Adopt by name and tag: a same-named resource without the platform's tags is someone else's."""
    if not has_tags(tags, platform_identity()):
        raise PermanentError(
            f"{what} exists but is not tagged {TAG_OWNER}={OWNER_PLATFORM}; tag it to let the portal adopt it",
            code="NotManagedByPortal",
        )


def may_create(ctx: AwsContext, what: str) -> None:
    if not ctx.platform.create_load_balancers:
        raise PermanentError(
            f"{what} is missing and the platform settings say not to create load balancers and their pieces "
            "(create_load_balancers)",
            code="NotFound",
        )


def require_vpc(vpc_id: str, what: str) -> str:
    if not vpc_id:
        raise PermanentError(f"{what}: set the VPC in the platform settings (vpc_id)", code="NetworkNotConfigured")
    return vpc_id


def require_subnets(subnets: list[str], what: str) -> list[str]:
    if len(subnets) < 2:
        raise PermanentError(
            f"{what}: set at least two subnets in the platform settings (subnet_ids)", code="NetworkNotConfigured"
        )
    return subnets
