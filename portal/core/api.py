"""API building blocks shared by every app."""

import contextlib
import ipaddress
from datetime import timedelta

import django_filters
import orjson
from django.conf import settings
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from .permissions import is_signed_in


class SignedIn(BasePermission):
    """Anyone signed in (and active)."""

    def has_permission(self, request, view) -> bool:
        return is_signed_in(request.user)


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, which builds (and validates) a filter form only when the request names a filter:
    an unfiltered list, the common case, skips the form's cost."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            names = tuple(filterset_class.base_filters)
            if not any(key.startswith(names) for key in request.query_params):
                return queryset
        return super().filter_queryset(request, queryset, view)


class PlainDocuments(list):
    """A page of documents that are plain JSON data already (dicts, lists, strings, numbers, booleans, None), for
    ``DocumentsJSONRenderer``."""


class DocumentsJSONRenderer(JSONRenderer):
    """DRF's JSON renderer, except for a compact page whose ``results`` are ``PlainDocuments``: encoded by orjson
    (a fraction of the cost of DRF's encoder on a page of 100 services) to the same compact UTF-8 JSON."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        documents = isinstance(data, dict) and isinstance(data.get("results"), PlainDocuments)
        if documents and self.get_indent(accepted_media_type, renderer_context or {}) is None:
            # The same escapes of U+2028 and U+2029 as DRF's renderer, for JavaScript older than ES2019.
            return orjson.dumps(data).replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
        return super().render(data, accepted_media_type, renderer_context)


def count_hit(cache, key: str, previous: str, ttl: int) -> tuple[int, int]:
    """Count one request under ``key``; return that count and the one under ``previous``. On Redis one round trip
    (INCR, EXPIRE and GET in one pipeline); elsewhere (the local-memory cache of development) a few calls."""
    if isinstance(cache, RedisCache):
        full = cache.make_and_validate_key(key)
        pipe = cache._cache.get_client(full, write=True).pipeline(transaction=False)
        pipe.incr(full)
        pipe.expire(full, ttl)
        pipe.get(cache.make_and_validate_key(previous))
        count, _, before = pipe.execute()
        return count, int(before or 0)
    cache.add(key, 0, ttl)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.set(key, 1, ttl)
        count = 1
    return count, int(cache.get(previous) or 0)


def uncount_hit(cache, key: str) -> None:
    with contextlib.suppress(ValueError):  # gone already: nothing to take back
        cache.decr(key)


# An IPv6 client is counted by its /64, one subscriber's network (as allauth counts sign-ins): otherwise each of its
# addresses would have a limit of its own.
IPV6_CLIENT_PREFIX = 64


def client_network(address: str) -> str:
    """The client's address as the rate limits count it: an IPv6 client by its /64."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_CLIENT_PREFIX}", strict=False).network_address)
    return str(parsed)


class SlidingWindowCounter:
    """A throttle counting requests per period in fixed windows, weighing the previous window's count by how much
    of it still lies within the last period (a sliding-window estimate): one cache round trip per request, where
    DRF's own reads, trims and writes back a list of timestamps. A refused request does not count."""

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        current, previous, weight = self._windows(self.key)
        count, before = count_hit(self.cache, current, previous, 2 * self.duration + 1)
        if before * weight + count <= self.num_requests:
            return True
        uncount_hit(self.cache, current)
        return False

    def allows_another(self, request, view) -> bool:
        """Whether a request would be allowed now, without counting one (one cache read)."""
        if self.rate is None or (key := self.get_cache_key(request, view)) is None:
            return True
        current, previous, weight = self._windows(key)
        counts = self.cache.get_many([current, previous])
        return int(counts.get(previous) or 0) * weight + int(counts.get(current) or 0) + 1 <= self.num_requests

    def _windows(self, key: str) -> tuple[str, str, float]:
        """The keys of the current and the previous window, and the share of the previous one still within the
        last period."""
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_end = (window + 1) * self.duration
        return f"{key}:{window}", f"{key}:{window - 1}", 1 - (self.now - window * self.duration) / self.duration

    def wait(self) -> float:
        return max(self.window_end - self.now, 1.0)


class TokenRateThrottle(SlidingWindowCounter, UserRateThrottle):
    """Requests per token (each user has one), ``PORTAL_API_RATE``; the browser's session counts the same."""

    def get_rate(self) -> str:
        # Read at each request, not frozen at import as DRF's class attribute is: settings can change it in tests.
        return settings.PORTAL_API_RATE


class AnonymousRateThrottle(SlidingWindowCounter, AnonRateThrottle):
    """Requests per client address to what answers without a token (schema, docs, the calendar feed)."""

    def get_rate(self) -> str:
        return settings.PORTAL_API_ANON_RATE

    def get_ident(self, request) -> str:
        return client_network(super().get_ident(request))


class AddressRateLimit(AnonymousRateThrottle):
    """The same per-address count as ``AnonymousRateThrottle``, whoever the request claims to be: what wrong
    credentials are charged to (``portal.core.credentials``)."""

    def get_cache_key(self, request, view) -> str:
        # Not the anonymous throttle's check of request.user: this runs while the request is being authenticated.
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


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
