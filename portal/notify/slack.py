"""Posting a message to a Slack incoming webhook, and telling a temporary failure (retry later) from a permanent
one (the webhook was revoked, the channel archived: retrying changes nothing).

Errors never carry the URL: it is a secret, and the error goes to logs and the broker.
"""

import requests

# Connect and read timeouts, seconds: Slack answers in well under a second.
TIMEOUT = (5, 10)


class DeliveryError(Exception):
    """Slack did not take the message: ``temporary`` when trying again may work, ``retry_after`` (seconds) when
    Slack said how long to wait."""

    def __init__(self, message: str, *, temporary: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.temporary = temporary
        self.retry_after = retry_after


def retry_after(value: str | None) -> float | None:
    """The seconds of a ``Retry-After`` header; None when absent or not a number (an HTTP date is not worth
    parsing here: the caller's backoff takes over)."""
    try:
        seconds = float(value or "")
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def post(url: str, payload: dict) -> None:
    """Post ``payload`` as JSON to the webhook at ``url``; raises ``DeliveryError`` unless Slack took it."""
    try:
        # No redirects: a webhook that sends the portal elsewhere is not one to follow.
        response = requests.post(url, json=payload, timeout=TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        raise DeliveryError(f"no answer ({exc.__class__.__name__})", temporary=True) from None
    if 200 <= response.status_code < 300:
        return
    answer = f"Slack answered {response.status_code}: {response.text[:100]!r}"
    if response.status_code == 429 or response.status_code >= 500:
        raise DeliveryError(answer, temporary=True, retry_after=retry_after(response.headers.get("Retry-After")))
    raise DeliveryError(answer, temporary=False)
