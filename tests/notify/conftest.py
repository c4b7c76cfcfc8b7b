"""Slack on loopback: a threaded HTTP server that records every JSON body posted to it and answers as told."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from portal.catalog.models import PlatformSettings, Team
from portal.notify.events import enqueue
from portal.notify.tasks import post_to_slack

PUBLIC_URL = "https://portal.example.com"


class SlackReceiver(ThreadingHTTPServer):
    """Records ``(path, body)`` of every post; answers each with the next of ``answers`` (status, headers), then
    ``200 ok`` once they are used up."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.answers: list[tuple[int, dict[str, str]]] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def received(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [body for where, body in self.posts if where == path]

    def answer(self, *answers: int | tuple[int, dict[str, str]]) -> None:
        with self.lock:
            self.answers = [a if isinstance(a, tuple) else (a, {}) for a in answers]


class _Handler(BaseHTTPRequestHandler):
    server: SlackReceiver

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        with self.server.lock:
            self.server.posts.append((self.path, body))
            status, headers = self.server.answers.pop(0) if self.server.answers else (200, {})
        text = b"ok" if status < 300 else b"no_service" if status < 500 else b"internal_error"
        self.send_response(status)
        for name, value in {"Content-Type": "text/plain", "Content-Length": str(len(text)), **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(text)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def slack() -> Iterator[SlackReceiver]:
    server = SlackReceiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


PAYMENTS_HOOK = "/services/TPAY/BPAY/payments"
SRE_HOOK = "/services/TSRE/BSRE/platform"


@pytest.fixture
def notify_settings(settings):
    settings.PORTAL_PUBLIC_URL = PUBLIC_URL
    settings.PORTAL_NOTIFY_BACKOFF_SECONDS = 0.05
    settings.PORTAL_NOTIFY_MAX_ATTEMPTS = 3
    return settings


@pytest.fixture
def channels(team, slack, notify_settings):
    """payments posts to its channel on the receiver, and so does the SRE team that runs the platform. Written
    straight to the rows: the receiver is plain HTTP on loopback, which the outbound-URL checks refuse."""
    team.slack_webhook_url = slack.url(PAYMENTS_HOOK)
    team.save()
    sre = Team.objects.create(slug="platform", name="Platform", slack_webhook_url=slack.url(SRE_HOOK))
    platform = PlatformSettings.load()
    platform.sre_team = sre.slug
    platform.save()
    return team, sre


def enqueued(callbacks) -> list[tuple[int, dict]]:
    """What the captured on-commit callbacks would send to Slack: (team id, message) each."""
    return [c.args for c in callbacks if getattr(c, "func", None) is enqueue]


def deliver(callbacks) -> list[str]:
    """Carry out the captured sends in this process, as a worker would; what each task returned."""
    return [post_to_slack.apply(args=list(args)).get() for args in enqueued(callbacks)]


def texts(bodies: list[dict]) -> list[str]:
    """Each message's section text (what the channel shows)."""
    return [body["blocks"][0]["text"]["text"] for body in bodies]
