"""Status badges and small helpers shared by every page. A badge never relies on colour alone: it carries
an icon (hidden from screen readers) and the status in words."""

import json

from django import template
from django.utils.html import format_html

register = template.Library()

# status -> (icon, words); the CSS class is derived from the status.
BADGES = {
    # runs
    "queued": ("◷", "Queued"),
    "planning": ("◔", "Planning"),
    "awaiting_approval": ("⏸", "Awaiting approval"),
    "applying": ("▶", "Applying"),
    "succeeded": ("✓", "Succeeded"),
    "failed": ("✗", "Failed"),
    "cancelled": ("⊘", "Cancelled"),
    # steps
    "pending": ("○", "Pending"),
    "running": ("◐", "Running"),
    "skipped": ("–", "Skipped"),
    # plan changes
    "create": ("+", "Create"),
    "update": ("~", "Update"),
    "delete": ("−", "Delete"),
    "unchanged": ("=", "Unchanged"),
    # inventory and services
    "applied": ("✓", "Applied"),
    "drifted": ("≠", "Drifted"),
    "missing": ("?", "Missing"),
    "active": ("●", "Active"),
    "deleting": ("◌", "Being deleted"),
    "delete_failed": ("✗", "Delete failed"),
}


@register.simple_tag
def badge(status: str | None, words: str = ""):
    """``{% badge run.status %}`` → icon and words, coloured by status."""
    if not status:
        return format_html('<span class="badge status-none">{}</span>', words or "Never run")
    icon, default_words = BADGES.get(status, ("•", status.replace("_", " ").capitalize()))
    return format_html(
        '<span class="badge status-{}"><span aria-hidden="true">{}</span> {}</span>',
        status,
        icon,
        words or default_words,
    )


@register.filter
def as_json(value) -> str:
    """A diff value as people read it: strings as they are, everything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


@register.filter
def duration(item) -> str:
    """Seconds between ``started_at`` and ``finished_at`` of a run or step, or an empty string."""
    start, end = getattr(item, "started_at", None), getattr(item, "finished_at", None)
    if not (start and end):
        return ""
    seconds = (end - start).total_seconds()
    return f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds // 60)} min {int(seconds % 60)} s"
