"""The AWS sandbox of the tests: moto's server on loopback (the code under test makes real HTTP calls to it
through ``AWS_ENDPOINT_URL``) and a small HTTP proxy in front of it that answers chosen requests with errors."""

import http.client
import json
import logging
import os
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

# ACM "validates" a DNS-validated certificate this many seconds after the request; the sandbox does it at once
# (read when moto is imported, so before that).
os.environ["MOTO_ACM_VALIDATION_WAIT"] = "0"
# The ALBs need a VPC and subnets, not the thousands of public AMIs moto loads into every fresh EC2 backend.
os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"

from moto.server import ThreadedMotoServer

# Each request to the sandbox would be an INFO line.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


class MotoSandbox:
    """moto's server in a thread on a free loopback port."""

    def __init__(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.url = ""

    def start(self) -> "MotoSandbox":
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        return self

    def reset(self) -> None:
        """Forget every resource (moto's reset endpoint)."""
        urlopen(Request(f"{self.url}/moto-api/reset", method="POST"), timeout=10).close()

    def stop(self) -> None:
        self.server.stop()


@dataclass
class Fault:
    """Answer the first ``times`` requests of ``target`` (the X-Amz-Target of a JSON-protocol call) with an error."""

    target: str
    times: int
    status: int
    code: str
    message: str = "injected by the test proxy"
    sent: int = 0


@dataclass
class FaultProxy:
    """A real HTTP proxy in front of the sandbox: forwards everything except the faults it was told to inject."""

    upstream: str
    faults: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> "FaultProxy":
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                return

            def do_POST(self) -> None:
                self.relay()

            def do_GET(self) -> None:
                self.relay()

            def relay(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fault = proxy.take(self.headers.get("X-Amz-Target", ""))
                if fault is not None:
                    payload = json.dumps({"__type": fault.code, "message": fault.message}).encode()
                    self.send_response(fault.status)
                    self.send_header("Content-Type", "application/x-amz-json-1.1")
                    self.send_header("x-amzn-ErrorType", fault.code)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                target = urlsplit(proxy.upstream)
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                conn.request(self.command, self.path, body=body, headers=dict(self.headers))
                response = conn.getresponse()
                data = response.read()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self

    def fail(self, target: str, *, times: int, status: int = 400, code: str = "ThrottlingException") -> Fault:
        fault = Fault(target=target, times=times, status=status, code=code)
        with self.lock:
            self.faults.append(fault)
        return fault

    def storm(self, *, every: int, times: int, code: str = "ThrottlingException") -> Fault:
        """Throttle every ``every``-th JSON-protocol request (any operation), ``times`` times in all."""
        fault = Fault(target="*", times=times, status=400, code=code)
        fault.every, fault.seen = every, 0
        with self.lock:
            self.faults.append(fault)
        return fault

    def take(self, target: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.sent >= fault.times:
                    continue
                if fault.target == "*" and target:
                    fault.seen += 1
                    if fault.seen % fault.every == 0:
                        fault.sent += 1
                        return fault
                elif fault.target == target:
                    fault.sent += 1
                    return fault
        return None

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
