"""/healthz: 200 when the database and the broker answer, 503 naming the failing part otherwise."""

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.celery import app as celery_app


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        conn.default_channel  # noqa: B018 - opening a channel proves the transport works


@never_cache
@require_GET
def healthz(request):
    checks = {"database": _check_database, "broker": _check_broker}
    status, failing = {}, []
    for name, check in checks.items():
        try:
            check()
            status[name] = "ok"
        except Exception as exc:
            status[name] = f"error: {exc.__class__.__name__}: {exc}"
            failing.append(name)
    body = {"status": "ok" if not failing else "unavailable", "checks": status}
    if failing:
        body["failing"] = failing
    return JsonResponse(body, status=503 if failing else 200)
