"""Pure: (desired, observed, last applied) -> plan. Only fields the portal declares are compared, so values
a server fills in (defaults, status, resourceVersion) never look like a change; and fields the portal declared
when it last applied (the inventory's body) but declares no longer are compared too, so an edit that only
removes something (a route's prefix match, the retries) is an update that takes them away, not "unchanged"."""

from dataclasses import dataclass, field
from typing import Any

from .resources import Resource

MISSING = object()


@dataclass(frozen=True)
class FieldChange:
    path: str
    old: Any
    new: Any

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class Change:
    """What the plan does to one resource."""

    action: str  # create | update | delete | unchanged
    resource: Resource
    diff: tuple[FieldChange, ...] = field(default=())
    observed: dict[str, Any] | None = field(default=None, compare=False, hash=False)

    def as_dict(self) -> dict[str, Any]:
        r = self.resource
        return {
            "action": self.action,
            "provider": r.provider,
            "api_version": r.api_version,
            "kind": r.kind,
            "namespace": r.namespace,
            "name": r.name,
            "key": r.key,
            "digest": r.digest if self.action != "delete" else "",
            "diff": [_redact(c, r.sensitive) for c in self.diff],
        }


REDACTED = "(sensitive value hidden)"


def _redact(change: FieldChange, sensitive: bool) -> dict[str, Any]:
    """Secret values never reach a stored plan, a page or a log line."""
    if sensitive and change.path.startswith(("data", "stringData")):
        return {
            "path": change.path,
            "old": REDACTED if change.old is not None else None,
            "new": REDACTED if change.new is not None else None,
        }
    return change.as_dict()


def _same_scalar(desired: Any, observed: Any) -> bool:
    if isinstance(desired, bool) or isinstance(observed, bool):
        return desired is observed
    if isinstance(desired, int | float) and isinstance(observed, int | float):
        return float(desired) == float(observed)
    return desired == observed


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def declared_diff(desired: Any, observed: Any, path: str = "", applied: Any = MISSING) -> list[FieldChange]:
    """Differences at every path the desired document declares, and removals: paths the last ``applied``
    document declared that the desired one no longer does, while they still exist."""
    if isinstance(desired, dict):
        if not isinstance(observed, dict):
            return [FieldChange(path, None if observed is MISSING else observed, desired)]
        before = applied if isinstance(applied, dict) else {}
        changes: list[FieldChange] = []
        for key in desired:
            changes.extend(
                declared_diff(desired[key], observed.get(key, MISSING), _join(path, key), before.get(key, MISSING))
            )
        for key in before:
            if key not in desired and key in observed:
                changes.append(FieldChange(_join(path, key), observed[key], None))
        return changes
    if isinstance(desired, list):
        if not isinstance(observed, list) or len(observed) != len(desired):
            return [FieldChange(path, None if observed is MISSING else observed, desired)]
        before = applied if isinstance(applied, list) and len(applied) == len(desired) else [MISSING] * len(desired)
        changes = []
        for index, (d, o, a) in enumerate(zip(desired, observed, before, strict=True)):
            changes.extend(declared_diff(d, o, f"{path}[{index}]", a))
        return changes
    if observed is MISSING:
        return [FieldChange(path, None, desired)]
    return [] if _same_scalar(desired, observed) else [FieldChange(path, observed, desired)]


def _leaves(value: Any, path: str = "") -> list[FieldChange]:
    """A new resource shown field by field."""
    if isinstance(value, dict) and value:
        out: list[FieldChange] = []
        for key in value:
            out.extend(_leaves(value[key], _join(path, key)))
        return out
    return [FieldChange(path, None, value)]


def diff_resource(resource: Resource, observed: dict[str, Any] | None, applied: dict[str, Any] | None = None) -> Change:
    """Create when nothing is there, update when a declared field differs or a field last applied is no longer
    declared but still there, else unchanged."""
    if observed is None:
        return Change("create", resource, tuple(_leaves(resource.body)), None)
    changes = declared_diff(resource.body, observed, applied=MISSING if applied is None else applied)
    return Change("update" if changes else "unchanged", resource, tuple(changes), observed)


def plan_changes(
    desired: list[Resource],
    observed: dict[str, dict[str, Any] | None],
    existing: list[Resource],
    applied: dict[str, dict[str, Any]] | None = None,
) -> list[Change]:
    """Desired resources against what exists; anything existing and no longer desired is deleted.

    ``observed`` maps a desired resource's key to its observed body (None when absent);
    ``existing`` lists everything the portal owns in this scope (found by labels, tags or the inventory);
    ``applied`` maps a key to the body last applied (the inventory's), whose fields the desired body dropped
    are removals.
    """
    wanted = {r.key for r in desired}
    applied = applied or {}
    changes = [diff_resource(r, observed.get(r.key), applied.get(r.key)) for r in desired]
    seen: set[str] = set()
    for resource in existing:
        if resource.key not in wanted and resource.key not in seen:
            seen.add(resource.key)
            changes.append(Change("delete", resource, (), resource.body))
    return changes


def summarize(changes: list[Change]) -> dict[str, int]:
    summary = {"create": 0, "update": 0, "delete": 0, "unchanged": 0}
    for change in changes:
        summary[change.action] += 1
    return summary
