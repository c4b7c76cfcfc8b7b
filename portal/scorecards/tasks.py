"""The scorecards' worker tasks: the beat's refresh, which keeps the stored cards computed ahead of the pages that
read them, and the computation a change asks for (``receivers``), of every card due at once."""

import logging
import time

from celery import shared_task
from django.core.cache import cache

from .cards import refresh_due, store_due

logger = logging.getLogger(__name__)

# A change's cards are computed this many seconds after it, with those of every change in between (one task).
COMPUTE_DELAY_SECONDS = 1
COMPUTE_ASKED_KEY = "scorecards:compute-asked"
_asked_at = -float("inf")  # when this process last asked (monotonic)


@shared_task(name="scorecards.refresh", acks_late=True)
def refresh() -> int:
    """Every minute: compute again the stored cards that are missing or due within ``cards.REFRESH_AHEAD``."""
    return refresh_due()


@shared_task(name="scorecards.compute_due", acks_late=True)
def compute_due() -> int:
    """Compute the cards due now (made due by changes since the last time), all at once."""
    return store_due()


def ask_compute() -> None:
    """Have a worker compute the due cards ``COMPUTE_DELAY_SECONDS`` from now, unless that is asked already: by this
    process (no round trip) or another (the cache's key lives as long as the delay). A change committed before the
    task runs is in its computation; the broker being away loses nothing, the lists and the beat compute the card
    later (``PORTAL_SCORECARD_GRACE_SECONDS``)."""
    global _asked_at
    now = time.monotonic()
    if now - _asked_at < COMPUTE_DELAY_SECONDS:
        return
    try:
        if cache.add(COMPUTE_ASKED_KEY, 1, timeout=COMPUTE_DELAY_SECONDS):
            compute_due.apply_async(countdown=COMPUTE_DELAY_SECONDS, retry=False)
        _asked_at = now
    except Exception as exc:
        logger.warning("scorecards.compute.ask_failed", extra={"error": str(exc)})
