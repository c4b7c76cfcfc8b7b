"""Recording audit events. Every catalog change, approval, run and token creation calls ``record``."""

from typing import Any

from .models import AuditEvent

# Document keys never written to the audit log, whatever the object.
SECRET_KEYS = frozenset(
    {
        "incident_webhook_url",
        "incident_alertmanager_url",
        "incident_alertmanager_token",
        "incident_sns_url",
        "slack_webhook_url",
        "password",
        "token",
        "key",
    }
)


def scrub(document: Any) -> Any:
    """A copy with secret values replaced: the audit log records that a secret changed, not the secret."""
    if isinstance(document, dict):
        return {k: ("(secret)" if k in SECRET_KEYS and v else scrub(v)) for k, v in document.items()}
    if isinstance(document, list):
        return [scrub(v) for v in document]
    return document


def _client_ip(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    action: str,
    object_type: str,
    object_key: str,
    *,
    actor=None,
    request=None,
    team: str = "",
    before: Any = None,
    after: Any = None,
    detail: str = "",
    source: str = "",
) -> AuditEvent:
    if actor is None and request is not None:
        actor = request.user
    actor = actor if getattr(actor, "is_authenticated", False) else None
    if not source and request is not None:
        source = "api" if request.path.startswith("/api/") else "admin" if request.path.startswith("/admin/") else "web"
    return AuditEvent.objects.create(
        actor=actor,
        actor_name=getattr(actor, "username", "") or "",
        action=action,
        object_type=object_type,
        object_key=str(object_key),
        team=team,
        before=scrub(before),
        after=scrub(after),
        detail=detail,
        source=source,
        ip_address=_client_ip(request),
    )
