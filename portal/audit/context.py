"""The request being served, so changes saved deep inside (signals, admin) know who made them."""

from contextvars import ContextVar

_request: ContextVar = ContextVar("portal_audit_request", default=None)


def current_request():
    return _request.get()


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)
