"""Each active service's card as last computed, so lists, filters, sorts and counts over thousands of services
read one row per service in the database instead of checking every rule again (``portal.scorecards.cards``)."""

from django.db import models


class StoredCard(models.Model):
    """A service's card as computed at ``computed_at``: its level, each rule's status and detail. Due (``valid_until``
    set to the time of the change) when anything it was computed from changes (``portal.scorecards.receivers``),
    and computed again by a worker, or by a list that finds it due for longer than the grace; time alone also makes
    it due (who is on call now, a drift check growing old), which bounds how long a change that sends no signal can
    go unseen. Cards of services no longer active are deleted when the lists or the beat next look."""

    service = models.OneToOneField(
        "catalog.Service", primary_key=True, on_delete=models.CASCADE, related_name="stored_card"
    )
    # The service's name, team and tier as computed, so lists read this table alone (a change to any of them makes
    # the card due).
    name = models.CharField(max_length=63, unique=True)
    team = models.ForeignKey("catalog.Team", on_delete=models.CASCADE, related_name="+")
    tier = models.PositiveSmallIntegerField()
    level = models.CharField(max_length=8)
    # What the lists sort and filter by, kept beside the codes so the database orders and picks them: the level's
    # position in ``rules.LEVEL_ORDER`` (lowest first), how many rules pass and fail, and which fail (bit i: the
    # i-th rule).
    rank = models.PositiveSmallIntegerField()
    passed = models.PositiveSmallIntegerField()
    failed = models.PositiveSmallIntegerField()
    failing = models.PositiveBigIntegerField()
    rules = models.CharField(max_length=12, help_text="Which rules, in which order, the codes are of (a digest).")
    codes = models.CharField(
        max_length=64, help_text="Each rule's status, in the rules' order: p(ass), f(ail) or n (does not apply)."
    )
    computed_at = models.DateTimeField()
    valid_until = models.DateTimeField()
    version = models.PositiveBigIntegerField(
        default=0,
        help_text="How many times a change made the card due: a card computed from what was read before a change "
        "committed is not stored over the card that change made due.",
    )

    def __str__(self) -> str:
        return f"{self.service_id}: {self.level}"


class CardDetails(models.Model):
    """What was found for each rule of a stored card: read only for the cards a page shows, so it lives apart from the
    rows the lists scan, filter and sort."""

    card = models.OneToOneField(StoredCard, primary_key=True, on_delete=models.CASCADE, related_name="found")
    details = models.JSONField(help_text="Rule id -> what was found.")

    class Meta:
        verbose_name_plural = "card details"

    def __str__(self) -> str:
        return f"{self.card_id}"
