"""What every handler needs: the platform and its account, clients, tag conversions, waiting for AWS."""

import time
from collections.abc import Callable
from functools import cached_property
from typing import Any, TypeVar

from ..errors import PermanentError, TemporaryError
from ..spec import PlatformSpec
from . import clients

T = TypeVar("T")

LEVELS = ("external", "internal")


def tag_list(tags: dict[str, str], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in sorted(tags.items())]


def tag_dict(items: list[dict[str, Any]] | None, key: str = "Key", value: str = "Value") -> dict[str, str]:
    return {item[key]: item.get(value) or "" for item in items or []}


def has_tags(actual: dict[str, str], wanted: dict[str, str]) -> bool:
    return all(actual.get(k) == v for k, v in wanted.items())


def wait_for(check: Callable[[], T | None], seconds: float, what: str, code: str, interval: float = 2.0) -> T:
    """Poll until ``check`` returns something; past the deadline the step fails as temporary (the run retries)."""
    deadline = time.monotonic() + seconds
    delay = 0.2
    while True:
        result = check()
        if result is not None:
            return result
        if time.monotonic() >= deadline:
            raise TemporaryError(f"{what} (waited {seconds:.0f}s; the run will try again)", code=code)
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, interval)


class AwsContext:
    """The platform's AWS account and region, and the service whose scope is being reconciled."""

    def __init__(self, platform: PlatformSpec):
        self.platform = platform
        self.region = platform.region
        self.service = ""

    def client(self, service: str) -> Any:
        return clients.client(service, self.region)

    @cached_property
    def account_id(self) -> str:
        """Bootstrap records it; before that (a mesh-only service on a fresh platform) STS tells."""
        return self.platform.aws_account_id or self.client("sts").get_caller_identity()["Account"]

    def listeners(self) -> dict[str, str]:
        """Exposure level -> the HTTPS listener of its ALB (those bootstrap recorded)."""
        return {level: arn for level in LEVELS if (arn := self.platform.listener_arn(level))}

    def zone_ids(self) -> dict[str, str]:
        return {level: zone_id for level in LEVELS if (zone_id := self.platform.zone_id(level))}

    def alb_dns_names(self) -> set[str]:
        return {name.lower() for level in LEVELS if (name := self.platform.alb_dns_name(level))}

    def level_of(self, hostname: str) -> str:
        """The level whose zone a hostname lies in (the longest matching zone wins)."""
        zones = sorted(((self.platform.zone(level), level) for level in LEVELS), key=lambda z: -len(z[0]))
        for zone, level in zones:
            if hostname == zone or hostname.endswith(f".{zone}"):
                return level
        return ""


def not_bootstrapped(what: str, missing: str) -> PermanentError:
    return PermanentError(
        f"{what}: the platform has no {missing} yet; run `manage.py bootstrap` (or the provisioning.bootstrap task)",
        code="PlatformNotBootstrapped",
    )
