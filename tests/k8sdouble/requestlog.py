"""The double's request log: every API request as the double saw it, for tests to count and inspect."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class RequestRecord:
    """One API request as the double saw it."""

    method: str
    path: str
    query: dict[str, str]
    content_type: str
    field_manager: str = ""
    group: str = ""
    resource: str = ""  # as RBAC names it: the plural, "/status" appended for the subresource
    kind: str = ""
    namespace: str = ""
    name: str = ""
    body: Any = None
    status: int = 0
    changed: bool = False  # the request changed stored state

    @property
    def is_write(self) -> bool:
        """POST, PUT, PATCH and DELETE, whether or not they changed anything."""
        return self.method in WRITE_METHODS

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data (what the ``/_double/requests`` hook answers)."""
        return asdict(self)


class RequestLog:
    """The API requests since the last clear, oldest first. Not thread-safe: callers hold the double's lock."""

    def __init__(self) -> None:
        self._records: list[RequestRecord] = []

    def append(self, record: RequestRecord) -> None:
        """Log a request once it has been answered."""
        self._records.append(record)

    def clear(self) -> None:
        """Forget every request logged so far."""
        self._records.clear()

    def records(self) -> list[RequestRecord]:
        """Copies of the records, so a caller cannot change the log."""
        return [replace(record) for record in self._records]

    @property
    def write_count(self) -> int:
        """POST, PUT, PATCH and DELETE requests, whether or not they changed anything."""
        return sum(record.is_write for record in self._records)

    @property
    def read_count(self) -> int:
        """Every other request: gets, lists, discovery."""
        return sum(not record.is_write for record in self._records)

    @property
    def changed_count(self) -> int:
        """Write requests that changed stored state (not no-ops, dry runs or rejected writes)."""
        return sum(record.changed for record in self._records)

    def summary(self) -> dict[str, Any]:
        """The records and the counts, as JSON-ready data."""
        return {
            "requests": [record.to_dict() for record in self._records],
            "write_count": self.write_count,
            "read_count": self.read_count,
            "changed_count": self.changed_count,
        }
