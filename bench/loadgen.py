"""A load generator in a process of its own: C closed-loop clients (threads) sending GETs, latencies in JSON.

python -m bench.loadgen URL PATH --token T --concurrency 8 --requests 400 --warmup 16
"""

import argparse
import http.client
import json
import sys
import threading
import time
from urllib.parse import urlsplit


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("path")
    parser.add_argument("--token", required=True)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=16)
    args = parser.parse_args(argv)
    target = urlsplit(args.url)
    headers = {
        "Authorization": f"Token {args.token}",
        "Accept": "application/json",
        "X-Forwarded-Proto": "https",  # as the ALB sends it; TLS ends there
    }
    lock = threading.Lock()
    remaining = {"warmup": args.warmup, "measured": args.requests}
    latencies: list[float] = []
    errors: list[str] = []

    def take() -> str | None:
        with lock:
            for phase in ("warmup", "measured"):
                if remaining[phase] > 0:
                    remaining[phase] -= 1
                    return phase
        return None

    def client() -> None:
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        while (phase := take()) is not None:
            started = time.perf_counter()
            try:
                conn.request("GET", args.path, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                status = f"{type(exc).__name__}: {exc}"
            elapsed = time.perf_counter() - started
            with lock:
                if status != 200:
                    errors.append(str(status))
                elif phase == "measured":
                    latencies.append(elapsed)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(args.concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    json.dump({"latencies": latencies, "errors": errors[:20], "error_count": len(errors), "wall_s": wall}, sys.stdout)


if __name__ == "__main__":
    main()
