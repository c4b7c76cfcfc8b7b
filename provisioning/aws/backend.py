"""The AWS backend of the engine: observe by name, tags and the inventory; apply and delete by handler."""

from typing import Any, Protocol

from ..desired.aws import ALARM, KINDS, LOG_GROUP, METRIC_FILTER
from ..names import LABEL_SERVICE
from ..resources import AWS, Resource
from ..spec import PlatformSpec
from .acm import CertificateHandler
from .clients import CallCounter, counting
from .cloudwatch import AlarmHandler
from .context import AwsContext
from .errors import aws_errors
from .logs import LogGroupHandler, MetricFilterHandler
from .observation import Observation, SweepReads
from .route53 import RecordHandler
from .sns import TopicHandler


class Handler(Protocol):
    """One AWS kind: observe in the shape the builder declares; apply and delete idempotently."""

    kind: str

    def observe(self, obs: Observation, desired: list[Resource], recorded: list[Resource]) -> list[Resource]: ...

    def apply(self, ctx: AwsContext, resource: Resource) -> dict[str, Any]: ...

    def delete(self, ctx: AwsContext, resource: Resource) -> None: ...


HANDLERS: dict[str, Handler] = {
    handler.kind: handler
    for handler in (
        TopicHandler(),
        LogGroupHandler(),
        MetricFilterHandler(),
        AlarmHandler(),
        CertificateHandler(),
        RecordHandler(),
    )
}


class AwsBackend:
    """Resources found by the service's ``portal:*`` tags (and, where AWS has no tags, by name or the inventory)."""

    provider = AWS

    def __init__(self, platform: PlatformSpec):
        self.ctx = AwsContext(platform)
        self.calls = CallCounter()
        self.sweep: SweepReads | None = None

    @property
    def reads(self) -> int:
        return self.calls.reads

    @property
    def writes(self) -> int:
        return self.calls.writes

    def observe(self, kinds, scope_labels, desired, recorded):
        """Observed bodies of the desired resources, and everything of the scope that exists.

        ``kinds`` lists Kubernetes kinds and does not apply here. Team-scoped resources (a team's topic) come
        from ``desired`` or, when the run prunes the team's scope, from ``recorded``.
        """
        self.ctx.service = scope_labels.get(LABEL_SERVICE, "")
        obs = Observation(self.ctx, self.sweep)
        found: dict[str, Resource] = {}
        with counting(self.calls), aws_errors(f"observing {self.ctx.service or 'the platform'}"):
            for kind in KINDS:
                mine = [r for r in desired if r.kind == kind]
                known = [r for r in recorded if r.kind == kind]
                for resource in HANDLERS[kind].observe(obs, mine, known):
                    found.setdefault(resource.key, resource)
        observed = {r.key: (found[r.key].body if r.key in found else None) for r in desired}
        # Deletes run in plan order: dependents first (records, certificates, the alarm), the topic last.
        existing = sorted(found.values(), key=lambda r: -KINDS.index(r.kind))
        return observed, existing

    def prefetch(self, scopes: list[tuple[list[tuple[str, str]], dict[str, str], list[Resource]]]) -> None:
        """Read ahead for many services' read-only checks (a drift sweep's batch), given each one's (Kubernetes
        kinds, labels, recorded resources): their tagged resources, log groups and alarms are listed once for all
        of them, and what they share (team topics, zones, listener certificates) is read once. Later observes
        answer from it."""
        self.sweep = SweepReads()
        services = [labels[LABEL_SERVICE] for _, labels, _ in scopes if labels.get(LABEL_SERVICE)]
        recorded = [r for _, _, resources in scopes for r in resources]
        with counting(self.calls), aws_errors("reading ahead for the drift sweep"):
            self.sweep.load(
                self.ctx,
                services,
                log_groups={r.name for r in recorded if r.kind == LOG_GROUP},
                alarms={r.name for r in recorded if r.kind == ALARM},
                filter_groups={r.namespace for r in recorded if r.kind == METRIC_FILTER},
            )

    def begin(self) -> None:
        """Nothing to prepare: every call takes effect on its own."""

    def apply(self, resource: Resource, force: bool = False) -> dict[str, Any]:
        with counting(self.calls), aws_errors(resource.label()):
            return HANDLERS[resource.kind].apply(self.ctx, resource)

    def delete(self, resource: Resource) -> None:
        with counting(self.calls), aws_errors(resource.label()):
            HANDLERS[resource.kind].delete(self.ctx, resource)

    def finish(self, message: str) -> str:
        return ""
