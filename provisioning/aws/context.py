"""What every reader and writer needs: the platform and its account, clients, tag conversions, waiting for AWS."""

import os
import time
from collections.abc import Callable
from functools import cached_property
from typing import Any, TypeVar

from django.conf import settings

from ..errors import PermanentError, TemporaryError
from ..spec import EXPOSED_LEVELS, PlatformSpec
from . import clients

T = TypeVar("T")


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


def in_sandbox() -> bool:
    """Whether AWS is the local sandbox (moto's server at ``AWS_ENDPOINT_URL``) rather than real AWS."""
    return bool(os.environ.get("AWS_ENDPOINT_URL"))


class AwsContext:
    """The platform's AWS account and region, and the service whose scope is being reconciled.

    ``sandbox``: the writers may create what real AWS already has (the hosted zones). ``wait_seconds``: how long a
    step waits for AWS (a certificate's issuance); a one-off bootstrap may wait longer than a run's step.
    """

    def __init__(self, platform: PlatformSpec, *, sandbox: bool | None = None, wait_seconds: float | None = None):
        self.platform = platform
        self.region = platform.region
        self.service = ""
        self.sandbox = in_sandbox() if sandbox is None else sandbox
        self.wait_seconds = settings.PORTAL_AWS_WAIT_SECONDS if wait_seconds is None else wait_seconds

    def client(self, service: str) -> Any:
        return clients.client(service, self.region)

    @cached_property
    def account_id(self) -> str:
        """The platform's ALBs tell; before they exist (a mesh-only service on a fresh platform) STS tells."""
        return self.platform.aws_account_id or self.client("sts").get_caller_identity()["Account"]

    def listeners(self) -> dict[str, str]:
        """Exposure level -> the HTTPS listener of its ALB (those the platform scope recorded)."""
        return {level: arn for level in EXPOSED_LEVELS if (arn := self.platform.listener_arn(level))}

    def zone_ids(self) -> dict[str, str]:
        return {level: zone_id for level in EXPOSED_LEVELS if (zone_id := self.platform.zone_id(level))}

    def alb_dns_names(self) -> set[str]:
        return {name.lower() for level in EXPOSED_LEVELS if (name := self.platform.alb_dns_name(level))}

    def level_of(self, hostname: str) -> str:
        """The level whose zone a hostname lies in (the longest matching zone wins)."""
        zones = sorted(((self.platform.zone(level), level) for level in EXPOSED_LEVELS), key=lambda z: -len(z[0]))
        for zone, level in zones:
            if hostname == zone or hostname.endswith(f".{zone}"):
                return level
        return ""


def not_bootstrapped(what: str, missing: str) -> PermanentError:
    return PermanentError(
        f"{what}: the platform has no {missing} yet; apply the platform scope (`manage.py bootstrap`, the "
        "provisioning.bootstrap task, or an approved platform apply)",
        code="PlatformNotBootstrapped",
    )
