"""Posting to a Slack incoming webhook on loopback: what is sent, what is retried (no answer, 5xx, 429 with its
Retry-After) and what is not (4xx, a redirect), and that a failure ends in a warning, never an error or the URL
in a log line."""

import logging
import socket

import pytest

from portal.catalog.models import Team
from portal.notify import slack as slack_client
from portal.notify.messages import message
from portal.notify.tasks import POST_TO_SLACK, post_to_slack

from .conftest import PAYMENTS_HOOK

MESSAGE = message("Something happened", ["details"], "https://portal.example.com/runs/1/", "Open the run")


def post(team: Team) -> str:
    return post_to_slack.apply(args=[team.pk, MESSAGE]).get()


@pytest.fixture
def hooked(team, slack, notify_settings) -> Team:
    team.slack_webhook_url = slack.url(PAYMENTS_HOOK)
    team.save()
    return team


def test_a_message_is_posted_as_json_to_the_team_webhook(hooked, slack):
    assert post(hooked) == "posted"
    assert slack.received(PAYMENTS_HOOK) == [MESSAGE]


def test_a_5xx_is_retried_and_then_delivered(hooked, slack):
    slack.answer(500, 503)
    assert post(hooked) == "posted"
    assert slack.received(PAYMENTS_HOOK) == [MESSAGE] * 3


def test_a_429_is_retried_after_the_wait_slack_asks_for(hooked, slack, notify_settings, caplog):
    notify_settings.PORTAL_NOTIFY_BACKOFF_SECONDS = 60  # the backoff would wait a minute; Slack asks for none
    slack.answer((429, {"Retry-After": "0"}))
    with caplog.at_level(logging.WARNING, logger="portal.notify"):
        assert post(hooked) == "posted"
    assert len(slack.received(PAYMENTS_HOOK)) == 2
    [retry] = [r for r in caplog.records if r.getMessage().startswith("notify.slack.retrying")]
    assert retry.countdown == 0


def test_retries_are_bounded_and_end_in_a_warning_without_the_url(hooked, slack, caplog):
    slack.answer(500, 500, 500, 500)
    with caplog.at_level(logging.INFO, logger="portal.notify"):
        assert post(hooked) == "failed"
    assert len(slack.received(PAYMENTS_HOOK)) == 3  # PORTAL_NOTIFY_MAX_ATTEMPTS
    failed = [r for r in caplog.records if r.getMessage().startswith("notify.slack.failed")]
    assert len(failed) == 1 and failed[0].levelno == logging.WARNING
    assert "Slack answered 500" in failed[0].getMessage()
    assert "TPAY" not in caplog.text


@pytest.mark.parametrize("status", [400, 403, 404, 410])
def test_a_refusal_is_not_retried(hooked, slack, status):
    slack.answer(status)
    assert post(hooked) == "failed"
    assert len(slack.received(PAYMENTS_HOOK)) == 1


def test_a_redirect_is_not_followed(hooked, slack):
    slack.answer((302, {"Location": slack.url("/elsewhere")}))
    assert post(hooked) == "failed"
    assert slack.received("/elsewhere") == []


def test_a_webhook_that_does_not_answer_is_retried_then_given_up(team, notify_settings, caplog):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    team.slack_webhook_url = f"http://127.0.0.1:{port}/services/TDOWN/BDOWN/down"
    team.save()
    with caplog.at_level(logging.WARNING, logger="portal.notify"):
        assert post(team) == "failed"
    messages = [r.getMessage() for r in caplog.records]
    assert sum(m.startswith("notify.slack.retrying") for m in messages) == 2
    assert any(m.startswith("notify.slack.failed") and "no answer (ConnectionError)" in m for m in messages)
    assert "TDOWN" not in caplog.text


def test_a_team_without_a_webhook_is_skipped(team):
    assert post(team) == "no webhook"


def test_the_task_is_named_and_acks_late():
    assert post_to_slack.name == POST_TO_SLACK == "notify.post_to_slack"
    assert post_to_slack.acks_late is True


@pytest.mark.parametrize(("header", "seconds"), [("7", 7.0), ("0", 0.0), ("soon", None), (None, None), ("-3", None)])
def test_retry_after_is_read_as_seconds(header, seconds):
    assert slack_client.retry_after(header) == seconds
