"""Encryption at rest for secrets (webhook URLs): Fernet keys from the environment, with rotation."""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.crypto import salted_hmac


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("PORTAL_ENCRYPTION_KEYS must hold at least one Fernet key")
    try:
        return MultiFernet([Fernet(key.strip()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(f"PORTAL_ENCRYPTION_KEYS holds an invalid Fernet key: {exc}") from exc


def fernet() -> MultiFernet:
    """The key ring: the first key encrypts, every key decrypts."""
    return _fernet(tuple(settings.PORTAL_ENCRYPTION_KEYS))


# Every secret this process has encrypted or decrypted: the log filter (``logfilters.RedactSecrets``) hides
# them in any log record, whoever logs it. A process meets few secrets (a team's webhook, the platform's Slack
# URL, the versions they are rotated through); the cap only guards against a runaway.
_REVEALED: dict[str, None] = {}
_REVEALED_CAP = 10_000


def _remember(plaintext: str) -> None:
    if plaintext and plaintext not in _REVEALED:
        if len(_REVEALED) >= _REVEALED_CAP:
            _REVEALED.pop(next(iter(_REVEALED)))
        _REVEALED[plaintext] = None


def revealed_secrets() -> tuple[str, ...]:
    """The secrets this process has seen in plain text, oldest first."""
    return tuple(_REVEALED)


def encrypt(plaintext: str) -> str:
    _remember(plaintext)
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        plaintext = fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "a stored secret cannot be decrypted with PORTAL_ENCRYPTION_KEYS; was a key removed?"
        ) from exc
    _remember(plaintext)
    return plaintext


def fingerprint(secret: str) -> str:
    """A keyed digest of a secret: tells that it changed without revealing it (in a plan, an inventory row)."""
    if not secret:
        return ""
    return salted_hmac("portal.secret-fingerprint", secret, algorithm="sha256").hexdigest()


def mask(secret: str) -> str:
    """What people see of a stored secret: scheme and host, never the path or the token."""
    if not secret:
        return ""
    scheme, sep, rest = secret.partition("://")
    host = rest.split("/", 1)[0] if sep else ""
    return f"{scheme}://{host}/…" if host else "…"


class EncryptedTextField(models.TextField):
    """A text column stored as a Fernet token; Python code sees the plaintext."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(value)
