"""A load generator in a process of its own: C closed-loop clients (threads) working through a list of requests
(first the warm-up ones, then the measured ones), each measured answer's latency by kind and the wall time
since the first measured request, in JSON on stdout.

    python -m bench.loadgen URL REQUESTS.json --token T --concurrency 8

REQUESTS.json: ``{"warmup": [item, ...], "measured": [item, ...]}``, an item ``{"kind": ..., "path": ...}`` for a
GET, or with a ``"patch"`` body for a write: the client reads the object (a ``detail`` sample) and sends the PATCH
with ``If-Match`` set to the ETag it got, as an editor does.
"""

import argparse
import http.client
import json
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

OK = (200,)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("requests", type=Path)
    parser.add_argument("--token", required=True)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    target = urlsplit(args.url)
    plan = json.loads(args.requests.read_text())
    queue = [("warmup", item) for item in plan["warmup"]] + [("measured", item) for item in plan["measured"]]
    headers = {
        "Authorization": f"Token {args.token}",
        "Accept": "application/json",
        "X-Forwarded-Proto": "https",  # as the ALB sends it; TLS ends there
    }
    lock = threading.Lock()
    samples: list[tuple[str, float]] = []
    errors: list[str] = []
    position = {"next": 0}
    measuring_since: list[float] = []

    def take() -> tuple[str, dict] | None:
        with lock:
            if position["next"] >= len(queue):
                return None
            position["next"] += 1
            work = queue[position["next"] - 1]
            if work[0] == "measured" and not measuring_since:
                measuring_since.append(time.perf_counter())
            return work

    def client() -> None:
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)

        def send(kind: str, phase: str, method: str, path: str, body: bytes | None, extra: dict) -> str:
            nonlocal conn
            started = time.perf_counter()
            etag = ""
            try:
                conn.request(method, path, body=body, headers={**headers, **extra})
                response = conn.getresponse()
                response.read()
                status: int | str = response.status
                etag = response.getheader("ETag", "")
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                status = f"{type(exc).__name__}: {exc}"
            elapsed = time.perf_counter() - started
            with lock:
                if status not in OK:
                    errors.append(f"{method} {path}: {status}")
                elif phase == "measured":
                    samples.append((kind, elapsed))
            return etag

        while (work := take()) is not None:
            phase, item = work
            if "patch" not in item:
                send(item["kind"], phase, "GET", item["path"], None, {})
                continue
            etag = send("detail", phase, "GET", item["path"], None, {})
            body = json.dumps(item["patch"]).encode()
            send(
                item["kind"], phase, "PATCH", item["path"], body, {"Content-Type": "application/json", "If-Match": etag}
            )
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(args.concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - (measuring_since[0] if measuring_since else time.perf_counter())
    json.dump({"samples": samples, "errors": errors[:20], "error_count": len(errors), "wall_s": wall}, sys.stdout)


if __name__ == "__main__":
    main()
