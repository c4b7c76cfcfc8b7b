"""How far from today a schedule's dates may lie.

The rotation math walks handoffs from a rotation's start and the calendar libraries stop at the year 9999: a
start or an override decades away is a typo, not a plan, and near the end of the calendar it would make every
on-call page and the routing refresh fail. Dates are checked where they come in (the schedule document and
``?at=``), against a window around the clock of the request.
"""

from datetime import UTC, datetime, timedelta

from . import schedule as pure

DATE_WINDOW_YEARS = 10
DATE_WINDOW = timedelta(days=365 * DATE_WINDOW_YEARS + DATE_WINDOW_YEARS // 4)


def date_problem(value: datetime, now: datetime) -> str:
    """Why ``value`` is too far from ``now`` (empty when it is not); a naive value is read as UTC, close enough for
    a window of years."""
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    if abs(moment - now) <= DATE_WINDOW:
        return ""
    low, high = (now - DATE_WINDOW).date(), (now + DATE_WINDOW).date()
    return f"Dates must lie within {DATE_WINDOW_YEARS} years of today: from {low} to {high}."


def date_errors(schedule: pure.Schedule, now: datetime) -> dict[str, list[str]]:
    """Errors keyed like ``pure.validate_schedule``'s (``rotations.0.start``, ``overrides.1.end``)."""
    errors: dict[str, list[str]] = {}
    dates = [(f"rotations.{i}.start", r.start) for i, r in enumerate(schedule.rotations)]
    dates += [
        (f"overrides.{i}.{name}", getattr(o, name))
        for i, o in enumerate(schedule.overrides)
        for name in ("start", "end")
    ]
    for path, value in dates:
        if problem := date_problem(value, now):
            errors.setdefault(path, []).append(problem)
    return errors
