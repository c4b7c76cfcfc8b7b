"""Field validators of the catalog. Each raises a ValidationError whose message names the rule."""

import ipaddress
import re

import re2
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from portal.core.netcheck import UnsafeURL, check_public_host, split_url
from provisioning.spec import is_dns1123_label

from .choices import RETRY_ON_POLICIES

HTTP_HEADER_NAME = re.compile(r"^[a-z0-9!#$%&'*+.^_`|~-]+$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

# Envoy refuses a regex whose compiled RE2 program is larger than re2.max_program_size.error_level; Istio's
# sidecars set it to this.
ENVOY_MAX_REGEX_PROGRAM_SIZE = 32768
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is the caller's error, not the process's


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


# Names the cluster answers itself: an external dependency there would shadow a Service of the mesh.
IN_CLUSTER_SUFFIXES = (".cluster.local", ".svc", ".local", ".internal")


def validate_external_host(value: str) -> None:
    """A DNS name outside the cluster: the ServiceEntry resolves it by DNS, so no IP address (nothing would
    resolve it), no wildcard and no in-cluster name."""
    name = normalize_hostname(value)
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        pass
    else:
        raise ValidationError(
            f"{value!r} is an IP address; give the upstream's DNS name (it is resolved by DNS).", code="ip_address"
        )
    validate_hostname(value)
    if name.rsplit(".", 1)[-1].isdigit():
        raise ValidationError(f"{value!r} is not a DNS name: its last label is a number.", code="invalid_hostname")
    if name.endswith(IN_CLUSTER_SUFFIXES):
        raise ValidationError(
            f"{value!r} is a name inside the cluster; an external dependency is outside it "
            "(call another service of the mesh directly).",
            code="in_cluster",
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
    """A regular expression Envoy runs: RE2 syntax, and a compiled program within the size Istio's sidecars
    accept. Checked by RE2 itself, so the API refuses what Envoy would refuse at apply time."""
    try:
        program = re2.compile(value, _RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValidationError(
            f"{value!r} is not a regular expression Envoy accepts (RE2 syntax: no backreferences, lookarounds, "
            f"possessive quantifiers or atomic groups): {reason}.",
            code="regex",
        ) from exc
    if program.programsize > ENVOY_MAX_REGEX_PROGRAM_SIZE:
        raise ValidationError(
            f"{value!r} is too complex for Envoy (RE2 program size {program.programsize}, at most "
            f"{ENVOY_MAX_REGEX_PROGRAM_SIZE}); simplify it.",
            code="regex",
        )


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


def _outbound_url_error(exc: UnsafeURL) -> ValidationError:
    return ValidationError(exc.message, code=exc.code)


def validate_webhook_url(value: str) -> None:
    """Only https, and not into private, loopback, link-local or in-cluster networks (unless allowed for
    development): the platform posts to it (``portal.core.netcheck``)."""
    try:
        parts = split_url(value, ("https",))
        if not settings.PORTAL_ALLOW_PRIVATE_WEBHOOKS:
            check_public_host(parts.hostname, parts.port or 443)
    except UnsafeURL as exc:
        raise _outbound_url_error(exc) from exc


def validate_link_url(value: str) -> None:
    """An http(s) address people open or a proxy calls (Grafana, OAuth2 Proxy): no other scheme, no control
    characters, a valid port."""
    try:
        split_url(value, ("https", "http"))
    except UnsafeURL as exc:
        raise _outbound_url_error(exc) from exc


def validate_cidr(value: str) -> None:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValidationError(f"{value!r} is not a CIDR block: {exc}.", code="cidr") from exc
