"""How scorecards are represented, and the lists' query parameters validated."""

from functools import cached_property

from django.urls import get_script_prefix
from rest_framework import serializers

from ..cards import DEFAULT_SORT, SORT_KEYS, STATUS_OF_CODE
from ..rules import LEVEL_ORDER, LEVELS, RULE_IDS, RULES, STATUSES

SORTS = [*SORT_KEYS, *(f"-{key}" for key in SORT_KEYS)]


class ScorecardQuerySerializer(serializers.Serializer):
    team = serializers.CharField(required=False, max_length=63, help_text="Only this team's services (its slug).")
    level = serializers.ChoiceField(
        choices=LEVEL_ORDER, required=False, help_text="Only services at exactly this level."
    )
    failing = serializers.ChoiceField(choices=RULE_IDS, required=False, help_text="Only services failing this rule.")
    sort = serializers.ChoiceField(
        choices=SORTS,
        default=DEFAULT_SORT,
        help_text="Order by this column (service, team, tier, level, passed, failed); '-' first for descending.",
    )
    expand = serializers.ChoiceField(
        choices=["rules"],
        required=False,
        help_text="rules: each card with every rule's outcome, as one card has it (what was found, why, the fix).",
    )


class TeamQuerySerializer(serializers.Serializer):
    team = serializers.CharField(required=False, max_length=63, help_text="Only this team (its slug).")


class OutcomeSerializer(serializers.Serializer):
    id = serializers.CharField(source="rule.id")
    title = serializers.CharField(source="rule.title")
    level = serializers.ChoiceField(source="rule.level", choices=LEVELS)
    status = serializers.ChoiceField(choices=STATUSES, help_text="pass, fail, or n/a (the rule does not apply).")
    detail = serializers.CharField(help_text="What was found for this service.")
    why = serializers.CharField(source="rule.why")
    fix_url = serializers.CharField(help_text="The page where it is fixed (an absolute URL).")


class ScorecardSerializer(serializers.Serializer):
    service = serializers.CharField(source="name")
    team = serializers.CharField()
    tier = serializers.IntegerField()
    level = serializers.ChoiceField(
        choices=LEVEL_ORDER, help_text="The highest level whose rules and all lower levels' pass or do not apply."
    )
    next_level = serializers.ChoiceField(choices=LEVEL_ORDER, allow_null=True)
    passed = serializers.IntegerField()
    failed = serializers.IntegerField()
    not_applicable = serializers.IntegerField()
    failing = serializers.ListField(
        child=serializers.ChoiceField(choices=RULE_IDS), help_text="The rules it fails, in the rules' order."
    )
    rules = OutcomeSerializer(
        source="outcomes",
        many=True,
        required=False,
        help_text="Every rule's outcome, in the rules' order: always on one card, in a list with expand=rules.",
    )

    @cached_property
    def _origin_and_prefix(self) -> tuple[str, str]:
        """The fix pages' scheme and host (this request's) and script prefix: once per response, not per card."""
        request = self.context.get("request")
        return (f"{request.scheme}://{request.get_host()}" if request else ""), get_script_prefix()

    def to_representation(self, card) -> dict:
        """The fields above, written out directly: a page of 100 cards has 1,100 outcomes, which field-by-field
        serialization takes most of the response's time over. ``rules`` when the card was loaded with what was
        found (``cards.with_details``)."""
        summary = {
            "service": card.name,
            "team": card.team,
            "tier": card.tier,
            "level": card.level,
            "next_level": card.next_level,
            "passed": card.passed,
            "failed": card.failed,
            "not_applicable": card.not_applicable,
            "failing": card.failing,
        }
        if card.details is None:
            return summary
        origin, prefix = self._origin_and_prefix
        details = card.details
        return {
            **summary,
            "rules": [
                {
                    "id": rule.id,
                    "title": rule.title,
                    "level": rule.level,
                    "status": STATUS_OF_CODE[code],
                    "detail": details.get(rule.id, ""),
                    "why": rule.why,
                    "fix_url": origin + rule.fix(card.name, card.team, prefix),
                }
                for rule, code in zip(RULES, card.codes, strict=True)
            ],
        }


class TeamScorecardSerializer(serializers.Serializer):
    team = serializers.CharField(source="slug")
    name = serializers.CharField()
    level = serializers.ChoiceField(
        choices=LEVEL_ORDER, allow_null=True, help_text="The lowest level of its active services; null without one."
    )
    services = serializers.IntegerField(help_text="Its active services.")
    levels = serializers.DictField(child=serializers.IntegerField(), help_text="How many services are at each level.")
    failing = serializers.DictField(child=serializers.IntegerField(), help_text="Rule id -> services failing it.")


class RuleSummarySerializer(serializers.Serializer):
    id = serializers.CharField()
    level = serializers.ChoiceField(choices=LEVELS)
    title = serializers.CharField()
    why = serializers.CharField()
    applies_to = serializers.CharField()
    passed = serializers.IntegerField()
    failed = serializers.IntegerField()
    not_applicable = serializers.IntegerField()
