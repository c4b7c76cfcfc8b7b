"""Log records never carry a stored secret, whoever writes them.

The portal's own log lines name secrets by fingerprint only; this filter is the net under libraries that log
what they send and receive when turned up to DEBUG (botocore logs an SNS subscription's endpoint, urllib3 a
request's path). Every secret the process has decrypted (``crypto.revealed_secrets``) is replaced, plain,
URL-encoded, JSON-escaped or base64-encoded; for a URL, its path too (what ``crypto.mask`` never shows).
"""

import base64
import logging
import re
from functools import lru_cache
from urllib.parse import quote, quote_plus

from .crypto import revealed_secrets

REDACTED = "(secret hidden)"
# Shorter fragments (a one-letter path) would hide ordinary text, and give nothing away.
MIN_FRAGMENT = 8
# The attributes every LogRecord has; anything else came in as an ``extra``.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def _base64_cores(text: str) -> set[str]:
    """Substrings the base64 of any text holding ``text`` contains, whatever its offset in that text."""
    cores = set()
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            cores.add(encode(b"\0" * shift + text.encode()).decode().rstrip("=")[4:-4])
    return cores


def forms(secret: str) -> set[str]:
    """How a secret may appear in a log line."""
    found = {secret}
    _, sep, rest = secret.partition("://")
    if sep and "/" in rest:
        found.add("/" + rest.split("/", 1)[1])
    for text in list(found):
        found |= {quote(text, safe=""), quote(text), quote_plus(text), text.replace("/", "\\/")}
        found |= _base64_cores(text)
    return {f for f in found if len(f) >= MIN_FRAGMENT}


@lru_cache(maxsize=4)
def _pattern(secrets: tuple[str, ...]) -> re.Pattern | None:
    fragments = sorted(set().union(*(forms(s) for s in secrets)), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, fragments))) if fragments else None


def redact(text: str) -> str:
    pattern = _pattern(revealed_secrets())
    return pattern.sub(REDACTED, text) if pattern else text


class RedactSecrets(logging.Filter):
    """Replaces stored secrets in a record's message, its extras and its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not revealed_secrets():
            return True
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str | dict | list | tuple):
                text = str(value)
                if redact(text) != text:
                    setattr(record, key, redact(text))
        return True
