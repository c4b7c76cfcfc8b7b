"""Field validators of the catalog. Each raises a ValidationError whose message names the rule."""

import ipaddress
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from provisioning.spec import is_dns1123_label

from .choices import RETRY_ON_POLICIES

HTTP_HEADER_NAME = re.compile(r"^[a-z0-9!#$%&'*+.^_`|~-]+$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def validate_dns1123_label(value: str) -> None:
    if not is_dns1123_label(value):
        raise ValidationError(
            "Must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter "
            "or digit, at most 63 characters.",
            code="dns1123_label",
        )


validate_label_value = RegexValidator(
    LABEL_VALUE,
    "Must be a Kubernetes label value: letters, digits, '-', '_' and '.', starting and ending with a "
    "letter or digit, at most 63 characters.",
    code="label_value",
)


def normalize_hostname(value: str) -> str:
    """Case-fold and drop a trailing dot: DNS names compare case-insensitively."""
    return value.strip().rstrip(".").lower()


def validate_hostname(value: str) -> None:
    name = normalize_hostname(value)
    if "*" in name:
        raise ValidationError(f"{value!r}: wildcards are not allowed; list each hostname.", code="wildcard")
    if len(name) > 253:
        raise ValidationError(f"{value!r}: a hostname has at most 253 characters.", code="too_long")
    labels = name.split(".")
    if len(labels) < 2 or not all(is_dns1123_label(label) for label in labels):
        raise ValidationError(
            f"{value!r} is not a valid hostname (dot-separated labels of letters, digits and '-').",
            code="invalid_hostname",
        )


def zone_for(hostname: str, zones: list[str]) -> str | None:
    """The most specific zone that contains the hostname (internal.example.com before example.com)."""
    name = normalize_hostname(hostname)
    candidates = [z for z in zones if z and (name == z or name.endswith("." + z))]
    return max(candidates, key=len) if candidates else None


def validate_path_prefix(value: str) -> None:
    if not value.startswith("/") or any(c.isspace() for c in value) or "*" in value:
        raise ValidationError(
            f"{value!r}: a path prefix starts with '/' and has no spaces or wildcards.", code="invalid_path"
        )


def validate_header_name(value: str) -> None:
    if not HTTP_HEADER_NAME.match(value):
        raise ValidationError(f"{value!r} is not an HTTP header name (lower-case token).", code="header_name")


def validate_regex(value: str) -> None:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValidationError(f"{value!r} is not a valid regular expression: {exc}.", code="regex") from exc


def validate_retry_on(value: str) -> None:
    tokens = [t.strip() for t in value.split(",") if t.strip()]
    if not tokens:
        raise ValidationError("Name at least one retry condition, e.g. '5xx,reset'.", code="retry_on")
    unknown = [t for t in tokens if t not in RETRY_ON_POLICIES and not t.isdigit()]
    if unknown:
        raise ValidationError(
            f"Unknown retry condition(s): {', '.join(unknown)}. Allowed: {', '.join(sorted(RETRY_ON_POLICIES))} "
            "or HTTP status codes.",
            code="retry_on",
        )


def validate_hash_on(value: str) -> None:
    kind, _, name = value.partition(":")
    if value == "source_ip":
        return
    if kind in ("header", "cookie") and name:
        if kind == "header":
            validate_header_name(name.lower())
        elif not re.match(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$", name):
            raise ValidationError(f"{name!r} is not a cookie name.", code="hash_on")
        return
    raise ValidationError(
        "Must be 'source_ip', 'header:NAME' or 'cookie:NAME'.",
        code="hash_on",
    )


def validate_slack_channel(value: str) -> None:
    if not re.match(r"^#[a-z0-9][a-z0-9._-]{0,79}$", value):
        raise ValidationError(
            "A Slack channel is '#' followed by lower-case letters, digits, '.', '_' or '-'.", code="slack_channel"
        )


_LOCAL_SUFFIXES = (".local", ".localhost", ".internal", ".localdomain")


def validate_webhook_url(value: str) -> None:
    """Only https, and not into private, loopback or link-local networks (unless allowed for development)."""
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ValidationError("The incident webhook must be an https:// URL.", code="webhook_scheme")
    if parts.username or parts.password:
        raise ValidationError("Put credentials in the path or a header, not in the URL's user part.", code="webhook")
    if settings.PORTAL_ALLOW_PRIVATE_WEBHOOKS:
        return
    host = parts.hostname.lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" or host.endswith(_LOCAL_SUFFIXES) or "." not in host:
            raise ValidationError(
                f"{host!r} is a local name; the incident webhook must be reachable on the internet.",
                code="webhook_private",
            ) from None
        return
    if not address.is_global:
        raise ValidationError(
            f"{host} is a private, loopback or link-local address; the incident webhook must be public.",
            code="webhook_private",
        )


def validate_cidr(value: str) -> None:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValidationError(f"{value!r} is not a CIDR block: {exc}.", code="cidr") from exc
