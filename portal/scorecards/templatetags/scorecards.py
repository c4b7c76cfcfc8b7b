"""Scorecards on pages: a service's card (``{% scorecard service.name %}``), a team's level (``{% team_scorecard
team.slug %}``) and the level and outcome badges. A
badge says its status in words and with an icon, never by colour alone."""

from django import template
from django.utils.html import format_html

from portal.catalog.models import Team

from ..cards import service_scorecard, store_overdue, team_cards
from ..rules import FAIL, NONE, NOT_APPLICABLE, PASS

register = template.Library()

LEVEL_BADGES = {"gold": ("★", "Gold"), "silver": ("✦", "Silver"), "bronze": ("●", "Bronze"), NONE: ("○", "No level")}
OUTCOME_BADGES = {PASS: ("pass", "✓", "Pass"), FAIL: ("fail", "✗", "Fail"), NOT_APPLICABLE: ("na", "–", "N/A")}


@register.simple_tag
def level_badge(level: str | None):
    """``{% level_badge card.level %}``; no level at all (a team without services) is a dash."""
    if level is None:
        return "—"
    icon, words = LEVEL_BADGES[level]
    return format_html('<span class="badge level-{}"><span aria-hidden="true">{}</span> {}</span>', level, icon, words)


@register.simple_tag
def outcome_badge(status: str):
    css, icon, words = OUTCOME_BADGES[status]
    title = ' title="Not applicable"' if status == NOT_APPLICABLE else ""
    return format_html(
        '<span class="badge outcome-{}"{}><span aria-hidden="true">{}</span> {}</span>', css, title, icon, words
    )


@register.inclusion_tag("scorecards/includes/card.html")
def scorecard(name: str) -> dict:
    """The production-readiness card of an active service (nothing for a service being deleted)."""
    return {"card": service_scorecard(name)}


@register.inclusion_tag("scorecards/includes/team_level.html")
def team_scorecard(slug: str) -> dict:
    """A team's production-readiness level: the lowest of its active services', with how many are at each."""
    store_overdue(slug)
    cards = team_cards(Team.objects.filter(slug=slug))
    return {"team": cards[0] if cards else None}
