"""Injected faults: requests that fail on purpose, once or until cleared, before or after the write takes effect,
and slow writes."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ApiError
from .requestlog import RequestRecord

_REASONS = {
    400: "BadRequest",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def reason_for(status: int) -> str:
    """The ``reason`` the API server gives with a status code (``InternalError`` for codes it has none for)."""
    return _REASONS.get(status, "InternalError")


@dataclass
class Fault:
    """An injected failure: requests that match get ``status`` with ``message`` instead of an answer."""

    status: int
    message: str
    reason: str
    writes_only: bool = True
    skip: int = 0  # matching requests still let through
    persistent: bool = False  # fail every match until cleared, not just once
    after_commit: bool = False  # the write takes effect, only the answer is an error
    method: str | None = None
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None
    path_contains: str | None = None

    def matches(self, record: RequestRecord) -> bool:
        """Whether the request (its record filled in up to the answer) is one this fault is for."""
        wanted = (
            (self.method, record.method),
            (self.kind, record.kind),
            (self.name, record.name),
            (self.namespace, record.namespace),
        )
        return (
            (record.is_write or not self.writes_only)
            and all(want is None or want == actual for want, actual in wanted)
            and (self.path_contains is None or self.path_contains in record.path)
        )

    def error(self) -> ApiError:
        """The error the request gets; a 429 says when to retry, as the API server's throttling does."""
        headers = {"Retry-After": "1"} if self.status == 429 else {}
        details = {"causes": [{"message": self.message}], **({"retryAfterSeconds": 1} if headers else {})}
        return ApiError(self.status, self.reason, self.message, details, headers)


class Faults:
    """The faults in force and the delay of every write. Not thread-safe: callers hold the double's lock."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self.write_delay = 0.0

    def add(self, fault: Fault) -> None:
        """Put a fault in force."""
        self._faults.append(fault)

    def clear(self) -> None:
        """No faults and no write delay."""
        self._faults.clear()
        self.write_delay = 0.0

    def take(self, record: RequestRecord) -> Fault | None:
        """The fault this request fires, if any: every match counts down its skips; a one-off fault is used up."""
        fired = None
        for fault in list(self._faults):
            if not fault.matches(record):
                continue
            if fault.skip > 0:
                fault.skip -= 1
            elif fired is None:
                fired = fault
                if not fault.persistent:
                    self._faults.remove(fault)
        return fired
