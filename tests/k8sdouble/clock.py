"""The server's timestamps: UTC, to the second, as the API server writes them."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> str:
    """The current time in the API's format: ``2025-04-23T00:00:00Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
