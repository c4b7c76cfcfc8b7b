"""Measuring, not faking: time spent inside AWS calls (botocore's own events on the portal's session) and inside
the Kubernetes target (the backend's reader and writer, wrapped), so the rest is the portal's own overhead."""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Clock:
    """Accumulated time and calls of one provider while it is switched on."""

    seconds: float = 0.0
    reads: int = 0
    writes: int = 0
    operations: dict[str, int] = field(default_factory=dict)

    def add(self, operation: str, seconds: float, write: bool) -> None:
        self.seconds += seconds
        self.operations[operation] = self.operations.get(operation, 0) + 1
        if write:
            self.writes += 1
        else:
            self.reads += 1

    def snapshot(self) -> "Clock":
        return Clock(self.seconds, self.reads, self.writes, dict(self.operations))

    def since(self, before: "Clock") -> "Clock":
        ops = {k: v - before.operations.get(k, 0) for k, v in self.operations.items()}
        return Clock(
            self.seconds - before.seconds,
            self.reads - before.reads,
            self.writes - before.writes,
            {k: v for k, v in ops.items() if v},
        )


class AwsTimer:
    """Every API call of the portal's boto3 session, from parameter building to the parsed answer (or error);
    a paginated listing counts once per page, retries inside botocore count as one call."""

    KEY = "bench_started"

    def __init__(self) -> None:
        self.clock = Clock()
        self.is_write: Callable[[str], bool] = lambda operation: False

    def install(self, session: Any, is_write: Callable[[str], bool]) -> "AwsTimer":
        """Listen on ``session`` (the portal's boto3 session); ``is_write`` tells writes from reads by name."""
        self.is_write = is_write
        events = session.events
        events.register("before-parameter-build", self._start)
        events.register("after-call", self._stop)
        events.register("after-call-error", self._stop_error)
        return self

    def _start(self, model, context=None, **kwargs) -> None:
        if context is not None:
            context[self.KEY] = time.perf_counter()

    def _finish(self, model, context) -> None:
        started = (context or {}).pop(self.KEY, None)
        if started is not None:
            self.clock.add(model.name, time.perf_counter() - started, self.is_write(model.name))

    def _stop(self, model, context=None, **kwargs) -> None:
        self._finish(model, context)

    def _stop_error(self, context=None, **kwargs) -> None:
        started = (context or {}).pop(self.KEY, None)
        if started is not None:
            self.clock.add("error", time.perf_counter() - started, False)


class Timed:
    """A Kubernetes target's reader or writer with every method call timed (reads and writes keep their own
    counters in the wrapped object); a ``finish`` that committed counts as a ``commit``. The engine gets it
    through KubernetesBackend's constructor."""

    READS = ("owned", "get")
    WRITES = ("apply", "delete", "begin", "finish")

    def __init__(self, inner: Any, clock: Clock):
        self._inner = inner
        self._clock = clock

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name not in self.READS + self.WRITES or not callable(value):
            return value

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                result = value(*args, **kwargs)
            finally:
                self._clock.seconds += time.perf_counter() - started
                self._clock.operations[name] = self._clock.operations.get(name, 0) + 1
            if name == "finish" and result:
                self._clock.operations["commit"] = self._clock.operations.get("commit", 0) + 1
            return result

        return timed


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]
