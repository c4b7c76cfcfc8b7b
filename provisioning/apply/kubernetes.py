"""Writes to a cluster: server-side apply under the portal's field manager, and deletes."""

import json
from typing import Any

from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ConflictError, DynamicApiError, NotFoundError

from ..errors import PermanentError, TemporaryError
from ..kube import KindNotInstalled, find_resource
from ..names import FIELD_MANAGER
from ..resources import Resource


def _status_message(exc: DynamicApiError | ApiException) -> tuple[str, dict[str, Any]]:
    body = getattr(exc, "body", None) or ""
    try:
        status = json.loads(body)
    except (TypeError, ValueError):
        return str(getattr(exc, "reason", exc)), {}
    return status.get("message") or str(exc), status


def classify(exc: Exception, resource: Resource) -> Exception:
    """Temporary (retry with backoff) or permanent (fail now, say why)."""
    if isinstance(exc, KindNotInstalled):
        return PermanentError(str(exc), code="KindNotInstalled")
    status_code = getattr(exc, "status", None)
    message, status = _status_message(exc) if isinstance(exc, DynamicApiError | ApiException) else (str(exc), {})
    if isinstance(exc, ConflictError) or status_code == 409:
        causes = (status.get("details") or {}).get("causes") or []
        fields = ", ".join(f"{c.get('field')} ({c.get('message')})" for c in causes if c.get("field"))
        detail = f": {fields}" if fields else f": {message}"
        return PermanentError(
            f"{resource.label()}: field conflict{detail}. Another field manager owns these fields; "
            "an SRE can re-apply with force to take them over.",
            code="Conflict",
        )
    if status_code is None or status_code == 429 or status_code >= 500:
        return TemporaryError(
            f"{resource.label()}: Kubernetes API error {status_code}: {message}", code=str(status_code)
        )
    return PermanentError(
        f"{resource.label()}: rejected by the Kubernetes API ({status_code}): {message}", code=str(status_code)
    )


class ClusterWriter:
    def __init__(self, dyn: DynamicClient):
        self.dyn = dyn
        self.writes = 0

    def apply(self, resource: Resource, force: bool = False) -> dict[str, Any]:
        try:
            api = find_resource(self.dyn, resource.api_version, resource.kind)
            self.writes += 1
            result = api.server_side_apply(
                body=resource.body,
                name=resource.name,
                namespace=resource.namespace or None,
                field_manager=FIELD_MANAGER,
                force_conflicts=force,
            )
            return result.to_dict()
        except (DynamicApiError, ApiException, KindNotInstalled) as exc:
            raise classify(exc, resource) from exc

    def delete(self, resource: Resource) -> None:
        try:
            api = find_resource(self.dyn, resource.api_version, resource.kind)
            self.writes += 1
            api.delete(name=resource.name, namespace=resource.namespace or None)
        except NotFoundError:
            return  # already gone: the goal of a delete
        except KindNotInstalled:
            return
        except (DynamicApiError, ApiException) as exc:
            raise classify(exc, resource) from exc

    def finish(self, message: str) -> str:
        """Nothing to commit: each apply took effect when it was made."""
        return ""
