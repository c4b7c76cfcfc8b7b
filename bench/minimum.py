"""B1's yardstick: the calls a competent implementation cannot avoid to plan and apply a new external service with
the gitops target, per provider and API operation, each with its reason.

It is derived from the stored plan (what existed, what had to be created), so it only counts calls that target can
need: the gitops target reads the object files already in the service's directory (none for a new service) and
lists nothing in a cluster. Every AWS write is looked up by name or tags first, as DESIGN §1 asks of an apply, even
right after a plan. Pure: no I/O.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from .internals import ALARM, AWS, CERTIFICATE, KUBERNETES, LOG_GROUP, METRIC_FILTER, RECORD, TOPIC, ChangeAction

CREATE, UNCHANGED = ChangeAction.CREATE, ChangeAction.UNCHANGED

# What the gitops target's reader and writer do, named like API operations.
READ_FILE = "read_file"
WRITE_FILE = "write_file"
COMMIT = "commit"

LOOKUP = "looked up before the write (DESIGN §1: look up by name and tags first)"


@dataclass(frozen=True)
class Need:
    """``count`` calls of one operation that planning or applying cannot do without, and why."""

    provider: str
    operation: str
    count: int
    reason: str


def _check_new(changes: list[dict]) -> None:
    """B1 registers new services: everything is created, except the team's topic, which its first service made."""
    for change in changes:
        allowed = (CREATE, UNCHANGED) if change["kind"] == TOPIC else (CREATE,)
        if change["action"] not in allowed:
            raise ValueError(
                f"B1's minimum covers new services only: {change['kind']} {change['name']} is {change['action']}"
            )


def plan_needs(changes: list[dict]) -> list[Need]:
    """What one plan (observe and diff) of a new service must read."""
    _check_new(changes)
    aws = [c for c in changes if c["provider"] == AWS]
    kinds = [c["kind"] for c in aws]
    needs = [
        Need(KUBERNETES, READ_FILE, 0, "object files already in the service's directory: none for a new service"),
    ]
    if aws:
        needs.append(Need(AWS, "GetResources", 1, "everything tagged for the service (certificates, log group, alarm)"))
    needs += [
        Need(AWS, "DescribeLogGroups", 1, "the log group has a fixed name and may exist untagged (Fluent Bit)")
        for kind in kinds
        if kind == LOG_GROUP
    ]
    needs += [
        Need(AWS, "DescribeMetricFilters", 0, "a metric filter lives in its log group, which does not exist yet")
        for kind in kinds
        if kind == METRIC_FILTER
    ]
    if ALARM in kinds:
        needs.append(Need(AWS, "DescribeAlarms", 1, "alarm names are account-wide: one lookup by name, tagged or not"))
    for change in aws:
        if change["kind"] == TOPIC and change["action"] == CREATE:
            needs.append(Need(AWS, "GetTopicAttributes", 1, "the team's topic does not exist yet: one call says so"))
        elif change["kind"] == TOPIC:
            needs += [
                Need(AWS, "ListSubscriptionsByTopic", 1, "the team topic's HTTPS subscription (its endpoint)"),
                Need(AWS, "ListTagsForResource", 1, "the team topic's tags (team-tagged, so not in GetResources)"),
            ]
        elif change["kind"] == CERTIFICATE:
            needs.append(Need(AWS, "ListCertificates", 0, "a certificate of the service is tagged: GetResources"))
        elif change["kind"] == RECORD:
            needs.append(
                Need(
                    AWS,
                    "ListResourceRecordSets",
                    1,
                    "one listing from the host name: its alias A record and its _portal-owner TXT sort together",
                )
            )
    return needs


def apply_needs(changes: list[dict]) -> list[Need]:
    """What applying the plan of a new service must call: each write, and its lookup."""
    _check_new(changes)
    needs: list[Need] = []
    created = [c for c in changes if c["action"] == CREATE]
    for change in (c for c in created if c["provider"] == AWS):
        needs += _aws_create(change)
    objects = sum(1 for c in created if c["provider"] == KUBERNETES)
    needs.append(Need(KUBERNETES, WRITE_FILE, objects, "one file per object"))
    if objects:
        needs.append(Need(KUBERNETES, COMMIT, 1, "one commit per apply"))
    return needs


def _aws_create(change: dict) -> list[Need]:
    kind = change["kind"]
    if kind == TOPIC:
        subscribed = any(d["path"] == "subscriptions" and d["new"] for d in change["diff"])
        return [
            Need(AWS, "GetTopicAttributes", 1, LOOKUP),
            Need(AWS, "CreateTopic", 1, "the team's topic, with its tags"),
            *([Need(AWS, "Subscribe", 1, "the incident webhook's HTTPS subscription")] if subscribed else []),
        ]
    if kind == LOG_GROUP:
        return [
            Need(AWS, "DescribeLogGroups", 1, LOOKUP),
            Need(AWS, "CreateLogGroup", 1, "the log group, with its tags"),
            Need(AWS, "PutRetentionPolicy", 1, "CreateLogGroup takes no retention"),
        ]
    if kind == METRIC_FILTER:
        return [
            Need(AWS, "DescribeMetricFilters", 1, LOOKUP),
            Need(AWS, "PutMetricFilter", 1, "the 5xx metric filter"),
        ]
    if kind == ALARM:
        return [
            Need(AWS, "DescribeAlarms", 1, LOOKUP),
            Need(AWS, "PutMetricAlarm", 1, "the alarm, with its tags"),
        ]
    if kind == CERTIFICATE:
        return [
            Need(AWS, "ListCertificates", 1, LOOKUP),
            Need(AWS, "RequestCertificate", 1, "the certificate, with its tags and an idempotency token"),
            Need(
                AWS,
                "DescribeCertificate",
                2,
                "the validation record (RequestCertificate does not return it), then ISSUED once the record is "
                "written (a listener takes issued certificates only)",
            ),
            Need(AWS, "ChangeResourceRecordSets", 1, "the validation CNAME"),
            Need(AWS, "AddListenerCertificates", 1, "attach it to the level's HTTPS listener"),
        ]
    if kind == RECORD:
        return [
            Need(AWS, "ListResourceRecordSets", 1, LOOKUP + ": the A record and its owner TXT, one listing"),
            Need(AWS, "ChangeResourceRecordSets", 1, "the alias and its owner TXT record, one batch"),
        ]
    raise ValueError(f"B1's minimum knows no AWS kind {kind!r}")


def minimum(changes: list[dict], plans: int = 1) -> list[Need]:
    """The needs of ``plans`` plans (an approval after the reuse window plans again) and one apply."""
    return [need for _ in range(plans) for need in plan_needs(changes)] + apply_needs(changes)


def tally(needs: Iterable[Need]) -> dict[str, dict[str, dict]]:
    """provider -> operation -> {"minimum": total count, "why": [distinct reasons, in order]}."""
    out: dict[str, dict[str, dict]] = {}
    for need in needs:
        entry = out.setdefault(need.provider, {}).setdefault(need.operation, {"minimum": 0, "why": []})
        entry["minimum"] += need.count
        if need.reason not in entry["why"]:
            entry["why"].append(need.reason)
    return out
