"""Each active service's card as last computed, so lists, filters, sorts and counts over thousands of services
read one row per service in the database instead of checking every rule again (``portal.scorecards.cards``)."""

from django.db import models


class StoredCard(models.Model):
    """A service's card as computed at ``computed_at``: its level, each rule's status and detail. Deleted when
    anything it was computed from changes (``portal.scorecards.receivers``), and computed again when read after
    ``valid_until`` (time alone changes outcomes: who is on call now, a drift check growing old), which also
    bounds how long a change that sends no signal can go unseen."""

    service = models.OneToOneField(
        "catalog.Service", primary_key=True, on_delete=models.CASCADE, related_name="stored_card"
    )
    level = models.CharField(max_length=8)
    # What the lists sort by, kept beside the codes so the database orders them: the level's position in
    # ``rules.LEVEL_ORDER`` (lowest first), and how many rules pass and fail.
    rank = models.PositiveSmallIntegerField()
    passed = models.PositiveSmallIntegerField()
    failed = models.PositiveSmallIntegerField()
    rules = models.CharField(max_length=12, help_text="Which rules, in which order, the codes are of (a digest).")
    codes = models.CharField(
        max_length=64, help_text="Each rule's status, in the rules' order: p(ass), f(ail) or n (does not apply)."
    )
    details = models.JSONField(help_text="Rule id -> what was found.")
    computed_at = models.DateTimeField()
    valid_until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.service_id}: {self.level}"
