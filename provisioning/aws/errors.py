"""botocore errors -> temporary (retry with backoff) or permanent (fail now, say why), with the AWS error code."""

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from ..errors import PermanentError, ProvisioningError, TemporaryError

# Codes AWS uses for "slow down" and for its own transient failures (the HTTP status is often 400).
TEMPORARY_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "InternalServiceError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "Unavailable",
        "WAFUnavailableEntityException",
        "WAFOptimisticLockException",
    }
)
TEMPORARY_TRANSPORT = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)


def error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "") or ""


def classify(exc: Exception, what: str) -> ProvisioningError:
    """One error of an AWS call, as the engine understands it: the code goes to the step and the run log."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        message = exc.response.get("Error", {}).get("Message", "") or str(exc)
        operation = getattr(exc, "operation_name", "") or "call"
        text = f"{what}: AWS {operation} failed with {code or status}: {message}"
        if code in TEMPORARY_CODES or status >= 500:
            return TemporaryError(text, code=code or str(status))
        return PermanentError(text, code=code or str(status))
    if isinstance(exc, TEMPORARY_TRANSPORT):
        return TemporaryError(f"{what}: AWS did not answer: {exc}", code=exc.__class__.__name__)
    return PermanentError(f"{what}: {exc}", code=exc.__class__.__name__)


@contextmanager
def aws_errors(what: str) -> Iterator[None]:
    """Translate botocore errors raised inside the block; the portal's own errors pass through."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise classify(exc, what) from exc


def is_code(exc: ClientError, *codes: str) -> bool:
    return error_code(exc) in codes
