"""``/scorecards/``: every active service's production-readiness level in a table sorted on the server, each
rule's pass and fail counts, and each team's level."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal.catalog.models import Team

from .cards import DEFAULT_SORT, SORT_KEYS, card_rows, cards_of, rule_counts, store_overdue, team_cards
from .rules import LEVEL_ORDER, RULES

PAGE_SIZE = 50
LEVEL_WORDS = {"none": "No level", "bronze": "Bronze", "silver": "Silver", "gold": "Gold"}
# The sortable columns, in the table's order.
COLUMNS = (
    ("service", "Service"),
    ("team", "Team"),
    ("tier", "Tier"),
    ("level", "Level"),
    ("passed", "Passed"),
    ("failed", "Failed"),
)


class ScorecardFilterForm(forms.Form):
    team = forms.CharField(required=False, max_length=63, label="Team")
    level = forms.ChoiceField(
        required=False, label="Level", choices=[("", "Any"), *((lvl, LEVEL_WORDS[lvl]) for lvl in LEVEL_ORDER)]
    )
    failing = forms.ChoiceField(
        required=False, label="Failing rule", choices=[("", "Any"), *((r.id, f"{r.id}: {r.title}") for r in RULES)]
    )
    sort = forms.ChoiceField(
        required=False, choices=[(k, k) for key in SORT_KEYS for k in (key, f"-{key}")], widget=forms.HiddenInput
    )


def _headers(sort: str) -> list[dict]:
    """Each column's link: ascending first, descending when it is the ascending order already."""
    headers = []
    for key, label in COLUMNS:
        current = sort.removeprefix("-") == key
        descending = sort.startswith("-")
        headers.append(
            {
                "label": label,
                "sort": f"-{key}" if current and not descending else key,
                "aria_sort": ("descending" if descending else "ascending") if current else None,
            }
        )
    return headers


@login_required
@require_GET
def scorecard_list(request):
    form = ScorecardFilterForm(request.GET)
    values = form.cleaned_data if form.is_valid() else {}
    team = values.get("team", "")
    store_overdue(team)
    sort = values.get("sort") or DEFAULT_SORT
    rows = card_rows(team, level=values.get("level", ""), failing=values.get("failing", ""), sort=sort)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = cards_of(page.object_list, details=True)
    teams = Team.objects.filter(slug=team) if team else Team.objects.order_by("slug")
    team_levels = team_cards(teams)  # every team's: their services add up to the total
    return render(
        request,
        "scorecards/list.html",
        {
            "form": form,
            "page": page,
            "headers": _headers(sort),
            "rules": rule_counts(team),
            "teams": team_levels,
            "total": sum(t.services for t in team_levels),
            "team_slugs": Team.objects.values_list("slug", flat=True),
        },
    )
