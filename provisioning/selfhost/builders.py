"""The builders and kind lists the portal renders its own deployment from: the one place this package imports
them, so a move of the builders changes this module only."""

from provisioning.desired import SERVICE_KINDS, render_service
from provisioning.desired.platform import PLATFORM_KINDS, render_platform
from provisioning.snapshot import platform_snapshot

__all__ = [
    "PLATFORM_KINDS",
    "SERVICE_KINDS",
    "platform_snapshot",
    "render_platform",
    "render_service",
]
