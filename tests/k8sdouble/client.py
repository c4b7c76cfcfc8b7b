"""A client for the test hooks of a double running in another process, over HTTP."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from .requestlog import RequestRecord


class DoubleClient:
    """The test hooks of a double running in another process (``python -m tests.k8sdouble.server``), over HTTP."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        # Loopback: never through a proxy from the environment.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def _call(self, method: str, path: str, payload: Any = None, query: Mapping[str, Any] | None = None) -> Any:
        params = {key: value for key, value in (query or {}).items() if value is not None}
        url = f"{self.url}/_double/{path}" + (f"?{urlencode(params)}" if params else "")
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        with self._opener.open(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def reset(self) -> None:
        """A fresh cluster, an empty request log, no faults."""
        self._call("POST", "reset")

    @property
    def requests(self) -> list[RequestRecord]:
        """The API requests since the last reset or :meth:`clear_requests`, oldest first."""
        return [RequestRecord(**record) for record in self._call("GET", "requests")["requests"]]

    @property
    def write_count(self) -> int:
        """POST, PUT, PATCH and DELETE requests, whether or not they changed anything."""
        return self._call("GET", "requests")["write_count"]

    @property
    def read_count(self) -> int:
        """Every other request: gets, lists, discovery."""
        return self._call("GET", "requests")["read_count"]

    @property
    def changed_count(self) -> int:
        """Write requests that changed stored state."""
        return self._call("GET", "requests")["changed_count"]

    def clear_requests(self) -> None:
        """Empty the request log."""
        self._call("DELETE", "requests")

    def fail_nth_write(self, n: int = 1, **options: Any) -> None:
        """Fail the ``n``-th write from now; options as ``KubernetesDouble.fail_nth_write``."""
        self._call("POST", "faults/nth-write", {"n": n, **options})

    def fail_requests(self, **options: Any) -> None:
        """Fail every matching request until cleared; options as ``KubernetesDouble.fail_requests``."""
        self._call("POST", "faults/match", options)

    def clear_faults(self) -> None:
        """No injected failures and no slow writes from now on."""
        self._call("DELETE", "faults")

    def slow_writes(self, seconds: float) -> None:
        """Hold every write request this long before serving it."""
        self._call("POST", "faults/slow-writes", {"seconds": seconds})

    def objects(
        self,
        kind: str | None = None,
        namespace: str | None = None,
        *,
        name: str | None = None,
        group: str | None = None,
        include_seed: bool = False,
    ) -> list[dict[str, Any]]:
        """Stored objects as the API would return them; seeded ones only with ``include_seed``."""
        query = {"kind": kind, "namespace": namespace, "name": name, "group": group}
        return self._call("GET", "objects", query={**query, "include_seed": str(include_seed).lower()})["items"]

    def get_object(
        self, kind: str, name: str, namespace: str | None = None, *, group: str | None = None
    ) -> dict[str, Any] | None:
        """One stored object (seeded ones included), or None."""
        found = self.objects(kind, namespace, name=name, group=group, include_seed=True)
        return found[0] if found else None
