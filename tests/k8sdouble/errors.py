"""Rejected requests, answered as the API server answers them: a ``Status`` object with the same code."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A rejected request; the client receives it as a ``Status`` object with the same code."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self) -> dict[str, Any]:
        """The ``Status`` body of the answer."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def bad_request(message: str) -> ApiError:
    """A 400 ``BadRequest``: a body, query parameter or header the server cannot use."""
    return ApiError(400, "BadRequest", message)


def path_not_found() -> ApiError:
    """A 404 for a path the API does not serve (as opposed to an object that does not exist)."""
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def method_not_allowed() -> ApiError:
    """A 405: the resource exists but does not take this method (POST to a name, PUT to a collection...)."""
    return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
