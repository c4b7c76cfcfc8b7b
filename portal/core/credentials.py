"""Wrong credentials cost like requests without any: a wrong API token or calendar feed token counts against the
client address's limit (``PORTAL_API_ANON_RATE``), and an address past that limit is refused (429) before the
credential it sends is checked, so guessing on past the limit cannot tell a hit from a miss."""

from collections.abc import Callable
from typing import TypeVar

from rest_framework import authentication
from rest_framework.exceptions import AuthenticationFailed, NotFound, Throttled

from .api import AddressRateLimit

T = TypeVar("T")


def checked_credential(request, check: Callable[[], T], failure: type[Exception]) -> T:
    """``check()``'s result for a request that carries a credential: refused (429) without checking when the
    address is past its limit; a ``failure`` it raises counts against that limit."""
    limit = AddressRateLimit()
    if not limit.allows_another(request, None):
        raise Throttled(wait=limit.wait())
    try:
        return check()
    except failure:
        limit.allow_request(request, None)  # counts the failed attempt
        raise


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's ``Authorization: Token …``, with wrong tokens (and malformed headers) charged to the client address."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None  # no token offered: nothing to charge
        authenticate = super().authenticate
        return checked_credential(request, lambda: authenticate(request), AuthenticationFailed)


def check_feed_token(request, matches: Callable[[], bool]) -> None:
    """A calendar feed token from ``?token=``: 404 when wrong (charged to the address), 429 past the limit."""

    def check() -> None:
        if not matches():
            # Whoever holds a wrong token learns nothing, not even whether the team exists.
            raise NotFound()

    checked_credential(request, check, NotFound)
