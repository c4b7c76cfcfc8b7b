"""Scope keys: what a run locks and what the inventory groups resources by. The only place their format is
written or read."""

PLATFORM_KEY = "platform"
SERVICE_PREFIX = "service:"
TEAM_PREFIX = "team:"


def service_key(name: str) -> str:
    """The lock and inventory key of a service."""
    return f"{SERVICE_PREFIX}{name}"


def team_key(slug: str) -> str:
    """The inventory key of a team's shared resources (its SNS topic): pruned with its last service."""
    return f"{TEAM_PREFIX}{slug}"


def service_of(key: str) -> str:
    """The service a key names; empty for the platform's and a team's keys."""
    return key.removeprefix(SERVICE_PREFIX) if key.startswith(SERVICE_PREFIX) else ""


def is_service_key(key: str) -> bool:
    return key.startswith(SERVICE_PREFIX)


def describe(key: str) -> str:
    """The key as people read it: the service's name, ``team <slug>`` or ``the platform layer``."""
    if key == PLATFORM_KEY:
        return "the platform layer"
    if key.startswith(TEAM_PREFIX):
        return f"team {key.removeprefix(TEAM_PREFIX)}"
    return service_of(key) or key
