"""The log handlers' net under libraries that log what they send: a stored secret is hidden in the message,
its arguments, its extras and its traceback, plain, URL-encoded or base64-encoded."""

import base64
import io
import logging
from urllib.parse import quote_plus

import pytest

from portal.catalog.models import Team
from portal.core.logfilters import REDACTED, RedactSecrets

SECRET = "https://hooks.example.com/services/T7/B7/log-canary-31f0e2"


@pytest.fixture
def log():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s %(endpoint)s"))
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["incident_alertmanager_url", "slack_webhook_url"])
def test_a_stored_secret_is_hidden_however_it_is_logged(log, field):
    logger, stream = log
    Team.objects.create(slug="canary", name="Canary", **{field: SECRET})  # encrypted: now known
    logger.debug("Subscribe with params %s", {"Endpoint": SECRET}, extra={"endpoint": "-"})
    logger.debug("body=Action=Subscribe&Endpoint=%s", quote_plus(SECRET), extra={"endpoint": "-"})
    logger.debug('"POST /services/T7/B7/log-canary-31f0e2 HTTP/1.1" 200', extra={"endpoint": "-"})
    blob = base64.b64encode(f"url: {SECRET}\n".encode()).decode()
    logger.debug("secret data %s", blob, extra={"endpoint": "-"})
    logger.info("provisioning.sns.subscribed", extra={"endpoint": SECRET})
    try:
        raise ConnectionError(f"could not reach {SECRET}")
    except ConnectionError:
        logger.exception("delivery failed", extra={"endpoint": "-"})
    written = stream.getvalue()
    assert "log-canary" not in written and "T7/B7" not in written
    assert blob[12:-12] not in written  # not in base64 either
    assert written.count(REDACTED) >= 6
    assert "ConnectionError: could not reach (secret hidden)" in written


@pytest.mark.django_db
def test_other_lines_are_left_alone(log):
    logger, stream = log
    Team.objects.create(slug="canary", name="Canary", incident_alertmanager_url=SECRET)
    logger.info("provisioning.apply.started %s", "service:ledger", extra={"endpoint": "https://hooks.example.com/…"})
    assert stream.getvalue() == "provisioning.apply.started service:ledger https://hooks.example.com/…\n"
