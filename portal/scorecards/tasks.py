"""The beat task that keeps the stored scorecards computed ahead of the pages that read them."""

from celery import shared_task

from .cards import refresh_due


@shared_task(name="scorecards.refresh", acks_late=True)
def refresh() -> int:
    """Every minute: compute again the stored cards that are missing or due within ``cards.REFRESH_AHEAD``."""
    return refresh_due()
