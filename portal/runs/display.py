"""A plan as people read it: its changes by provider, each with its field-by-field diff ready to show."""

from portal.core.templatetags.portal import as_json
from provisioning.choices import ChangeAction
from provisioning.models import Plan

PROVIDERS = (("kubernetes", "Kubernetes"), ("aws", "AWS"))


def _display(value) -> tuple[str, bool]:
    """A diff value as text, and whether it needs a block of its own (long or several lines)."""
    if value is None:
        return "", False
    text = as_json(value)
    return text, "\n" in text or len(text) > 80


def plan_groups(plan: Plan) -> list[dict]:
    """The plan's changes by provider (Kubernetes, then AWS), each with its field-by-field diff ready to show."""
    groups = []
    for provider, title in PROVIDERS:
        changes = [c for c in plan.changes if c.get("provider") == provider]
        if not changes:
            continue
        shown = []
        for change in changes:
            rows = []
            for item in change.get("diff") or []:
                old, old_block = _display(item.get("old"))
                new, new_block = _display(item.get("new"))
                rows.append(
                    {
                        "path": item.get("path") or "(whole object)",
                        "old": old,
                        "new": new,
                        "block": old_block or new_block,
                        "had_old": item.get("old") is not None,
                    }
                )
            shown.append({**change, "rows": rows})
        summary = {a: sum(1 for c in changes if c["action"] == a) for a in ChangeAction.values}
        groups.append(
            {
                "provider": provider,
                "title": title,
                "summary": summary,
                "changes": [c for c in shown if c["action"] != ChangeAction.UNCHANGED],
                "unchanged": [c for c in shown if c["action"] == ChangeAction.UNCHANGED],
            }
        )
    return groups
