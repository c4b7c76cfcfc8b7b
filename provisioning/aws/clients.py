"""boto3 clients: one session for the process, standard retry mode (exponential backoff with jitter on
throttling, 5xx and connection errors), ``AWS_ENDPOINT_URL`` honoured by boto3 itself (the sandbox).

Every call passes one event hook that counts reads and writes for whoever is listening (``counting``).
"""

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import boto3
from botocore.config import Config
from django.conf import settings

_session = boto3.session.Session()
_lock = threading.Lock()
_clients: dict[tuple, Any] = {}

READ_PREFIXES = ("Describe", "List", "Get")


def session() -> boto3.session.Session:
    """The portal's boto3 session; hooks registered on its events reach every client made afterwards."""
    return _session


def client(service: str, region: str) -> Any:
    """A cached client; a new one when the endpoint or the retry budget changed (tests point it elsewhere)."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    attempts = settings.PORTAL_AWS_MAX_ATTEMPTS
    key = (service, region, endpoint, attempts)
    with _lock:
        if key not in _clients:
            config = Config(
                retries={"mode": "standard", "total_max_attempts": attempts},
                connect_timeout=5,
                read_timeout=30,
                user_agent_extra="platform-portal",
            )
            _clients[key] = _session.client(service, region_name=region, config=config)
        return _clients[key]


def is_write(operation: str) -> bool:
    return not operation.startswith(READ_PREFIXES)


class CallCounter:
    """AWS API calls made while counting (a paginated listing counts once per page)."""

    def __init__(self) -> None:
        self.reads = 0
        self.writes = 0

    def add(self, operation: str) -> None:
        if is_write(operation):
            self.writes += 1
        else:
            self.reads += 1


_counters: ContextVar[tuple[CallCounter, ...]] = ContextVar("aws_call_counters", default=())


@contextmanager
def counting(counter: CallCounter) -> Iterator[CallCounter]:
    token = _counters.set((*_counters.get(), counter))
    try:
        yield counter
    finally:
        _counters.reset(token)


def _count(model, **kwargs) -> None:
    for counter in _counters.get():
        counter.add(model.name)


_session.events.register("before-parameter-build", _count)
