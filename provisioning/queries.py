"""The read side portal may ask of provisioning: querysets the pages share (a constant number of queries however
many rows there are) and questions to the inventory (never to a cloud API)."""

from django.db.models import OuterRef, QuerySet, Subquery

from .api.views import run_queryset
from .choices import ChangeAction, RunStatus
from .desired.aws import CERTIFICATE, RECORD
from .models import ManagedResource, Plan, ProvisioningRun
from .resources import AWS
from .scopes import service_key, service_of


def with_last_run(services: QuerySet) -> QuerySet:
    """Services annotated with their latest run's id and status (``last_run_id``, ``last_run_status``)."""
    latest = ProvisioningRun.objects.filter(service=OuterRef("pk")).order_by("-created_at", "-pk")
    return services.annotate(
        last_run_id=Subquery(latest.values("pk")[:1]),
        last_run_status=Subquery(latest.values("status")[:1]),
    )


def pending_approvals() -> QuerySet:
    """Runs waiting for an SRE, oldest first."""
    return run_queryset().filter(status=RunStatus.AWAITING_APPROVAL).order_by("created_at", "pk")


PROVIDERS = (("kubernetes", "Kubernetes"), ("aws", "AWS"))


def _display(value) -> tuple[str, bool]:
    """A diff value as text, and whether it needs a block of its own (long or several lines)."""
    from portal.core.templatetags.portal import as_json

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


def hostname_holders(hostnames: list[str], service: str | None) -> dict[str, str]:
    """Hostnames whose DNS record or certificate still exists in AWS for another service: hostname -> service.

    A service that gave a hostname up keeps its record and certificate until its next apply removes them;
    until then nobody else may claim the name (no takeover of a live record or certificate).
    """
    rows = ManagedResource.objects.filter(provider=AWS, kind__in=[RECORD, CERTIFICATE], name__in=hostnames)
    if service:
        rows = rows.exclude(scope=service_key(service))
    return {name: service_of(scope) for name, scope in rows.values_list("name", "scope")}
