"""API building blocks shared by every app."""

from datetime import timedelta

import django_filters
from django.conf import settings
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField
from rest_framework.pagination import PageNumberPagination
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class TokenRateThrottle(UserRateThrottle):
    """Requests per token (each user has one), ``PORTAL_API_RATE``; the browser's session counts the same."""

    def get_rate(self) -> str:
        # Read at each request, not frozen at import as DRF's class attribute is: settings can change it in tests.
        return settings.PORTAL_API_RATE


class AnonymousRateThrottle(AnonRateThrottle):
    """Requests per client address to what answers without a token (schema, docs, the calendar feed)."""

    def get_rate(self) -> str:
        return settings.PORTAL_API_ANON_RATE


class BoundedDateTimeField(IsoDateTimeField):
    """An ISO 8601 instant a database can store: UTC offsets within ±14:00, years 1900–9999."""

    def clean(self, value):
        value = super().clean(value)
        if value is None:
            return value
        offset = value.utcoffset()
        if offset is not None and abs(offset) > timedelta(hours=14):
            raise ValidationError("The UTC offset must lie within ±14:00.", code="offset")
        if not 1900 <= value.year <= 9999:
            raise ValidationError("The year must lie between 1900 and 9999.", code="year")
        return value


class BoundedDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = BoundedDateTimeField
