"""The Celery task that posts a message to a team's Slack channel, retrying temporary failures with backoff."""

import logging
import random

from celery import shared_task
from django.conf import settings

from portal.catalog.models import Team

from . import slack

logger = logging.getLogger("portal.notify")

POST_TO_SLACK = "notify.post_to_slack"
# No wait between attempts is longer than this, whatever Retry-After says.
MAX_WAIT = 300


def backoff(attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: exponential from ``PORTAL_NOTIFY_BACKOFF_SECONDS``, with jitter."""
    ceiling = min(MAX_WAIT, settings.PORTAL_NOTIFY_BACKOFF_SECONDS * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


@shared_task(name=POST_TO_SLACK, bind=True, acks_late=True, max_retries=None)
def post_to_slack(self, team_id: int, message: dict) -> str:
    """Post ``message`` to the team's Slack webhook (read now: the broker never holds it). A temporary failure
    (no answer, 5xx, 429) is tried again after a backoff, or after Slack's ``Retry-After``, up to
    ``PORTAL_NOTIFY_MAX_ATTEMPTS`` attempts; then, as for a permanent failure, a warning is logged and the task
    ends without an error."""
    team = Team.objects.filter(pk=team_id).first()
    url = team.slack_webhook_url if team else ""
    if not url:
        return "no webhook"
    attempt = self.request.retries + 1
    extra = {"team": team.slug, "attempt": attempt}
    try:
        slack.post(url, message)
    except slack.DeliveryError as exc:
        if exc.temporary and attempt < settings.PORTAL_NOTIFY_MAX_ATTEMPTS:
            wait = min(MAX_WAIT, exc.retry_after if exc.retry_after is not None else backoff(attempt))
            logger.warning("notify.slack.retrying %s: %s", team.slug, exc, extra={**extra, "countdown": wait})
            raise self.retry(countdown=wait, exc=exc) from None
        logger.warning("notify.slack.failed %s after %d attempt(s): %s", team.slug, attempt, exc, extra=extra)
        return "failed"
    logger.info("notify.slack.posted %s", team.slug, extra=extra)
    return "posted"
