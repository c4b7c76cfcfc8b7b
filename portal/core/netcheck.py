"""Where a URL the platform will call points: its syntax, and whether its host lies on the public internet.

Webhooks people give the portal are called by Alertmanager inside the cluster and by SNS: a URL into the
cluster, the VPC or the instance metadata service would make the platform call what it must not. A host is
read the way the programs that send to it read it (``127.1``, ``0x7f.1`` and ``0177.0.0.1`` are numbers, as
``inet_aton`` and the URL standard read them), a name must sit under a public top-level domain, and every
address it resolves to must be public. A name that does not resolve (yet) reaches nothing and is accepted.
"""

import functools
import ipaddress
import re
import socket
from collections.abc import Callable, Collection, Iterable
from urllib.parse import SplitResult, urlsplit

from publicsuffixlist import PublicSuffixList

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Iterable[str]]

DEFAULT_PORTS = {"http": 80, "https": 443}

# Names that mean something only inside a network: mDNS, Kubernetes services, cloud metadata, home and
# reverse-lookup zones, and the special-use names of RFC 6761.
LOCAL_SUFFIXES = (
    ".local",
    ".localhost",
    ".localdomain",
    ".internal",
    ".svc",
    ".lan",
    ".arpa",
    ".test",
    ".example",
    ".invalid",
    ".onion",
)

_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)*$"
)
# A label inet_aton reads as a number: decimal, octal (leading 0) or hexadecimal (0x).
_NUMBER = re.compile(r"^(0[xX][0-9a-fA-F]*|[0-9]+)$")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class UnsafeURL(ValueError):
    """Why a URL is refused; ``code`` names the rule."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def split_url(value: str, schemes: Collection[str]) -> SplitResult:
    """The URL's parts after the checks any outbound URL needs: printable ASCII only, one of ``schemes``, a host,
    no user part, a port from 1 to 65535."""
    if not value.isascii() or not value.isprintable() or " " in value or "\\" in value:
        # Parsers disagree on what control characters, backslashes and look-alike dots (127。0。0。1) mean.
        raise UnsafeURL(
            "A URL may hold printable ASCII only, without spaces or backslashes: percent-encode the rest and write "
            "international names in their xn-- form.",
            "url_characters",
        )
    parts = urlsplit(value)
    if parts.scheme.lower() not in schemes:
        raise UnsafeURL(f"The URL must start with {' or '.join(f'{s}://' for s in schemes)}.", "url_scheme")
    if not parts.hostname:
        raise UnsafeURL("The URL needs a host name.", "url_host")
    if "@" in parts.netloc:
        raise UnsafeURL("Put credentials in the path or a header, not in the URL's user part.", "url_credentials")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise UnsafeURL("The port must be a number from 1 to 65535.", "url_port")
    return parts


def inet_aton_address(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a host of numbers stands for, read as ``inet_aton`` reads it (``127.1``, ``0x7f.1``,
    ``0177.0.0.1``, ``2130706433``); None when the host is a name. Raises ``UnsafeURL`` for a host that ends
    in a number but is no address."""
    labels = host.removesuffix(".").split(".")
    if not _NUMBER.match(labels[-1]):
        return None
    if len(labels) > 4 or not all(_NUMBER.match(label) for label in labels):
        raise UnsafeURL(f"{host!r} is neither a host name nor an IPv4 address.", "url_host")
    try:
        values = [_number(label) for label in labels]
    except ValueError:
        raise UnsafeURL(f"{host!r} is not an IPv4 address.", "url_host") from None
    *leading, last = values
    if any(v > 255 for v in leading) or last >= 256 ** (5 - len(values)):
        raise UnsafeURL(f"{host!r} is not an IPv4 address: a part is out of range.", "url_host")
    number = last
    for i, value in enumerate(leading):
        number += value << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


def _number(label: str) -> int:
    if label[:2].lower() == "0x":
        return int(label[2:] or "0", 16)
    if len(label) > 1 and label.startswith("0"):
        return int(label, 8)
    return int(label)


def is_public(address: Address) -> bool:
    """Whether the address is globally routable, looking through IPv6 forms that carry an IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped)
        if address.sixtofour is not None:
            return is_public(address.sixtofour)
        if address in _NAT64:
            return is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return address.is_global and not address.is_multicast


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system's resolver gives for ``host``; none when it does not resolve."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return sorted({info[4][0].partition("%")[0] for info in found})


@functools.cache
def _public_suffixes() -> PublicSuffixList:
    return PublicSuffixList(only_icann=True)


def check_public_host(host: str, port: int, resolve: Resolver = system_resolver) -> None:
    """Raise ``UnsafeURL`` unless ``host`` is a public address, or a name under a public top-level domain whose
    every address (by ``resolve``) is public."""
    host = host.lower()
    try:
        address: Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = inet_aton_address(host)
    if address is not None:
        if not is_public(address):
            raise UnsafeURL(
                f"{host} is a private, loopback, link-local or reserved address ({address}); the URL must be "
                "reachable on the internet.",
                "url_private",
            )
        return
    name = host.removesuffix(".")
    if not _HOST_NAME.match(name):
        raise UnsafeURL(f"{host!r} is not a valid host name.", "url_host")
    if "." not in name or f".{name}".endswith(LOCAL_SUFFIXES):
        raise UnsafeURL(
            f"{name!r} is a local or in-cluster name; the URL must be reachable on the internet.", "url_private"
        )
    if _public_suffixes().publicsuffix(name, accept_unknown=False) is None:
        raise UnsafeURL(
            f"{name!r} is not under a public top-level domain; the URL must be reachable on the internet.",
            "url_private",
        )
    for found in resolve(name, port):
        if not is_public(ipaddress.ip_address(found)):
            raise UnsafeURL(
                f"{name!r} resolves to {found}, a private, loopback, link-local or reserved address; the URL must "
                "be reachable on the internet.",
                "url_private",
            )


def check_public_url(value: str, schemes: Collection[str] = ("https",), resolve: Resolver = system_resolver) -> None:
    """``split_url`` and ``check_public_host`` together: a URL the platform may call."""
    parts = split_url(value, schemes)
    check_public_host(parts.hostname, parts.port or DEFAULT_PORTS.get(parts.scheme.lower(), 443), resolve)
