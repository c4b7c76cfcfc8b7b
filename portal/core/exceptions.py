"""How the API answers errors: DRF's handler, plus the errors Django raises below the API that would otherwise be
an HTML page or a 500."""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import IntegrityError
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"


class WriteConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Another change conflicted with this one and nothing was saved; reload and try again."
    default_code = "conflict"


def exception_handler(exc, context):
    """Also JSON: a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413), a form with too many fields or files (400),
    and a write that lost a race to a unique constraint (409; its transaction rolled back, so nothing is
    half-written). The catalog names the field of the races it expects (``catalog.services.Taken``); this is
    the net under any other."""
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes, the most the API reads."
        )
    elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        exc = ParseError(str(exc))
    elif isinstance(exc, IntegrityError):
        logger.warning("api.write_conflict", exc_info=exc, extra={"view": type(context.get("view")).__name__})
        exc = WriteConflict()
    return drf_exception_handler(exc, context)
