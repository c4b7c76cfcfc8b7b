"""A Kubernetes API server double: state in memory, served over HTTP on loopback.

It serves what the portal and the official client's ``DynamicClient`` use: discovery (built-in kinds plus the kinds of
the CRD files), CRUD with label and field selectors, merge and JSON patches, server-side apply with managed fields and
conflicts, ``resourceVersion`` preconditions and server-filled defaults. Test hooks live under ``/_double/`` and are
also methods of :class:`KubernetesDouble`: reset, fault injection and a request log.

Run it in a thread (``KubernetesDouble().start()``) or as a process that several processes share (drive its hooks
with :class:`~.client.DoubleClient`)::

    python -m tests.k8sdouble.server --port 8001
"""

from __future__ import annotations

import argparse
import copy
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from .api import Api, flag, json_response
from .cluster import Cluster
from .crds import DEFAULT_CRD_DIR, load_crd_documents
from .errors import ApiError, bad_request, path_not_found
from .faults import Fault, Faults, reason_for
from .requestlog import WRITE_METHODS, RequestLog, RequestRecord


class _QuietRequestHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Tests read the double's request log instead."""


class KubernetesDouble:
    """The Kubernetes API double: a WSGI app over :class:`~.cluster.Cluster`, the test hooks, and a loopback
    server."""

    def __init__(self, crd_dir: str | Path = DEFAULT_CRD_DIR) -> None:
        self.crd_dir = Path(crd_dir)
        self.url = ""
        self._lock = threading.RLock()
        self._cluster = Cluster(load_crd_documents(self.crd_dir))
        self._api = Api(self._cluster)
        self._log = RequestLog()
        self._faults = Faults()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self, host: str = "127.0.0.1", port: int = 0) -> KubernetesDouble:
        """Serve in a background thread; ``port=0`` picks a free port. Sets and returns ``self`` with ``url``."""
        self._bind(host, port)
        assert self._server is not None
        self._thread = threading.Thread(target=self._server.serve_forever, name="k8s-double", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve in this thread until interrupted."""
        self._bind(host, port)
        assert self._server is not None
        print(f"Kubernetes API double listening on {self.url}", flush=True)
        try:
            self._server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self._server.server_close()

    def stop(self) -> None:
        """Stop serving (a thread started by :meth:`start` is joined)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> KubernetesDouble:
        return self.start() if self._server is None else self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _bind(self, host: str, port: int) -> None:
        self._server = make_server(host, port, self, threaded=True, request_handler=_QuietRequestHandler)
        self.url = f"http://{host}:{self._server.server_port}"

    # test hooks

    def reset(self) -> None:
        """A fresh cluster (system namespaces and the CRDs), an empty request log, no faults."""
        with self._lock:
            self._cluster.reset()
            self._log.clear()
            self._faults.clear()

    @property
    def requests(self) -> list[RequestRecord]:
        """The API requests since the last reset or :meth:`clear_requests`, oldest first (hooks not included)."""
        with self._lock:
            return self._log.records()

    @property
    def write_count(self) -> int:
        """POST, PUT, PATCH and DELETE requests, whether or not they changed anything."""
        with self._lock:
            return self._log.write_count

    @property
    def read_count(self) -> int:
        """Every other request: gets, lists, discovery."""
        with self._lock:
            return self._log.read_count

    @property
    def changed_count(self) -> int:
        """Write requests that changed stored state (not no-ops, dry runs or rejected writes)."""
        with self._lock:
            return self._log.changed_count

    def clear_requests(self) -> None:
        """Empty the request log."""
        with self._lock:
            self._log.clear()

    def fail_nth_write(
        self,
        n: int = 1,
        *,
        status: int = 500,
        message: str = "injected failure",
        reason: str | None = None,
        kind: str | None = None,
        name: str | None = None,
        namespace: str | None = None,
        after_commit: bool = False,
    ) -> None:
        """Fail the ``n``-th write request from now (counting only writes to ``kind``/``name``/``namespace``)."""
        if n < 1:
            raise ValueError("n counts from 1")
        self._add_fault(
            Fault(
                status,
                message,
                reason or reason_for(status),
                skip=n - 1,
                after_commit=after_commit,
                kind=kind,
                name=name,
                namespace=namespace,
            )
        )

    def fail_requests(
        self,
        *,
        status: int = 500,
        message: str = "injected failure",
        reason: str | None = None,
        method: str | None = None,
        kind: str | None = None,
        name: str | None = None,
        namespace: str | None = None,
        path_contains: str | None = None,
        writes_only: bool = False,
        after_commit: bool = False,
    ) -> None:
        """Fail every matching request (reads too unless ``writes_only``) until :meth:`clear_faults`."""
        self._add_fault(
            Fault(
                status,
                message,
                reason or reason_for(status),
                writes_only=writes_only,
                persistent=True,
                after_commit=after_commit,
                method=method.upper() if method else None,
                kind=kind,
                name=name,
                namespace=namespace,
                path_contains=path_contains,
            )
        )

    def clear_faults(self) -> None:
        """No injected failures and no slow writes from now on."""
        with self._lock:
            self._faults.clear()

    def slow_writes(self, seconds: float) -> None:
        """Hold every write request this long before serving it (other requests go on meanwhile)."""
        with self._lock:
            self._faults.write_delay = float(seconds)

    def objects(
        self,
        kind: str | None = None,
        namespace: str | None = None,
        *,
        name: str | None = None,
        group: str | None = None,
        include_seed: bool = False,
    ) -> list[dict[str, Any]]:
        """Stored objects as the API would return them at their preferred version, sorted by kind, namespace, name.

        Objects of the fresh cluster (system namespaces, CRDs) are left out unless ``include_seed``.
        """
        with self._lock:
            cluster = self._cluster
            found = []
            for rtype in sorted(cluster.types(), key=lambda t: (t.kind, t.group)):
                if (kind and rtype.kind != kind) or (group is not None and rtype.group != group):
                    continue
                for stored in cluster.list(rtype, namespace or ""):
                    if name and stored.obj["metadata"]["name"] != name:
                        continue
                    if include_seed or stored.resource_version > cluster.seed_resource_version:
                        found.append(copy.deepcopy(cluster.render(rtype, rtype.versions[0], stored)))
            return found

    def get_object(
        self, kind: str, name: str, namespace: str | None = None, *, group: str | None = None
    ) -> dict[str, Any] | None:
        """One stored object (seeded ones included), or None."""
        found = self.objects(kind, namespace, name=name, group=group, include_seed=True)
        return found[0] if found else None

    def _add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.add(fault)

    # WSGI

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self._hook(request) if request.path.startswith("/_double/") else self._serve_api(request)
        return response(environ, start_response)

    def _hook(self, request: Request) -> Response:
        """The test hooks over HTTP, for a double in another process (see :class:`~.client.DoubleClient`)."""
        route = (request.method, request.path.removeprefix("/_double/").strip("/"))
        payload = request.get_json(silent=True) or {}
        try:
            if route == ("POST", "reset"):
                self.reset()
            elif route == ("GET", "requests"):
                with self._lock:
                    return json_response(self._log.summary())
            elif route == ("DELETE", "requests"):
                self.clear_requests()
            elif route == ("POST", "faults/nth-write"):
                self.fail_nth_write(**payload)
            elif route == ("POST", "faults/match"):
                self.fail_requests(**payload)
            elif route == ("DELETE", "faults"):
                self.clear_faults()
            elif route == ("POST", "faults/slow-writes"):
                self.slow_writes(**payload)
            elif route == ("GET", "objects"):
                args = request.args
                found = self.objects(
                    args.get("kind"),
                    args.get("namespace"),
                    name=args.get("name"),
                    group=args.get("group"),
                    include_seed=flag(args.get("include_seed"), "include_seed"),
                )
                return json_response({"items": found})
            else:
                return json_response(path_not_found().status(), 404)
        except (TypeError, ValueError, ApiError) as exc:
            return json_response(bad_request(str(exc)).status(), 400)
        return json_response({})

    def _serve_api(self, request: Request) -> Response:
        record = RequestRecord(
            method=request.method,
            path=request.path,
            query=request.args.to_dict(),
            content_type=request.mimetype,
            field_manager=request.args.get("fieldManager", ""),
        )
        write_delay = self._faults.write_delay
        if write_delay and request.method in WRITE_METHODS:
            time.sleep(write_delay)
        with self._lock:
            try:
                response = self._dispatch(request, record)
            except ApiError as exc:
                response = json_response(exc.status(), exc.code, exc.headers.items())
            record.status = response.status_code
            self._log.append(record)
        return response

    def _dispatch(self, request: Request, record: RequestRecord) -> Response:
        """Serve one API request, failing it instead (before or after it takes effect) when a fault matches."""
        call = self._api.read(request, record)
        fault = self._faults.take(record)
        if fault is not None and not fault.after_commit:
            raise fault.error()
        response = self._api.serve(request, call, record)
        if fault is not None:
            raise fault.error()
        return response


def main(argv: list[str] | None = None) -> None:
    """Serve the double on loopback until interrupted (the URL is printed once it listens)."""
    parser = argparse.ArgumentParser(description="Serve the Kubernetes API double on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on start)")
    parser.add_argument("--crd-dir", default=str(DEFAULT_CRD_DIR), help="directory of CRD JSON files to serve")
    args = parser.parse_args(argv)
    KubernetesDouble(args.crd_dir).serve_forever(args.host, args.port)


if __name__ == "__main__":
    main()
