"""SNS: a team's incident topic with an HTTPS subscription to its incident tool's webhook.

The webhook URL is a secret. Plans and the inventory hold its keyed fingerprint only; the URL itself is read
from the team (decrypted) when the subscription is written, and never logged. Only HTTPS subscriptions are
the portal's: others a team adds by hand (e-mail, chat) are left alone.
"""

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from portal.core.crypto import fingerprint

from ..desired.aws import TOPIC, aws
from ..errors import TemporaryError
from ..names import TAG_TEAM, sns_topic_arn
from ..resources import Resource
from .context import AwsContext, has_tags, tag_dict, tag_list
from .errors import is_code

if TYPE_CHECKING:
    from .observation import Observation

PROTOCOL = "https"


def topic_arn(ctx: AwsContext, name: str) -> str:
    return sns_topic_arn(ctx.region, ctx.account_id, name)


def exists(ctx: AwsContext, arn: str) -> bool:
    try:
        ctx.client("sns").get_topic_attributes(TopicArn=arn)
    except ClientError as exc:
        if is_code(exc, "NotFound", "NotFoundException"):
            return False
        raise
    return True


def https_subscriptions(ctx: AwsContext, arn: str) -> list[dict[str, Any]]:
    paginator = ctx.client("sns").get_paginator("list_subscriptions_by_topic")
    return [
        sub
        for page in paginator.paginate(TopicArn=arn)
        for sub in page.get("Subscriptions", [])
        if sub.get("Protocol") == PROTOCOL
    ]


def topic_tags(ctx: AwsContext, arn: str) -> dict[str, str]:
    return tag_dict(ctx.client("sns").list_tags_for_resource(ResourceArn=arn).get("Tags"))


def topic_state(ctx: AwsContext, name: str) -> dict[str, Any] | None:
    """A topic as the builder declares it (its HTTPS subscriptions' fingerprints, its tags); None if absent."""
    arn = topic_arn(ctx, name)
    if not exists(ctx, arn):
        return None
    endpoints = sorted(fingerprint(s["Endpoint"]) for s in https_subscriptions(ctx, arn))
    subscriptions = [{"protocol": PROTOCOL, "endpoint_fingerprint": e} for e in endpoints]
    return {"subscriptions": subscriptions, "tags": topic_tags(ctx, arn)}


def incident_webhook(team: str) -> str:
    from portal.catalog.models import Team

    row = Team.objects.filter(slug=team).only("incident_webhook_url").first()
    return row.incident_webhook_url if row else ""


class TopicHandler:
    kind = TOPIC

    def observe(self, obs: "Observation", desired: list[Resource], recorded: list[Resource]) -> list[Resource]:
        found = []
        for resource in {r.name: r for r in (*recorded, *desired)}.values():
            body = obs.topic(resource.name)
            if body is not None:
                found.append(aws(TOPIC, resource.name, body, owner=resource.owner))
        return found

    def apply(self, ctx: AwsContext, resource: Resource) -> dict[str, Any]:
        sns, body = ctx.client("sns"), resource.body
        arn = topic_arn(ctx, resource.name)
        if not exists(ctx, arn):
            arn = sns.create_topic(Name=resource.name, Tags=tag_list(body["tags"]))["TopicArn"]
        elif not has_tags(topic_tags(ctx, arn), body["tags"]):
            sns.tag_resource(ResourceArn=arn, Tags=tag_list(body["tags"]))
        url = ""
        if body["subscriptions"]:
            url = incident_webhook(body["tags"][TAG_TEAM])
            if fingerprint(url) != body["subscriptions"][0]["endpoint_fingerprint"]:
                raise TemporaryError(
                    f"{resource.label()}: the team's incident webhook changed since the plan; planning again",
                    code="WebhookChanged",
                )
        current = https_subscriptions(ctx, arn)
        if url and not any(s["Endpoint"] == url for s in current):
            sns.subscribe(TopicArn=arn, Protocol=PROTOCOL, Endpoint=url, ReturnSubscriptionArn=True)
        for sub in current:
            # A subscription still waiting for the endpoint's confirmation has no ARN yet; it expires by itself.
            if sub["Endpoint"] != url and sub["SubscriptionArn"].startswith("arn:"):
                sns.unsubscribe(SubscriptionArn=sub["SubscriptionArn"])
        return {"external_id": arn}

    def delete(self, ctx: AwsContext, resource: Resource) -> None:
        """Deleting a topic deletes its subscriptions."""
        arn = topic_arn(ctx, resource.name)
        if exists(ctx, arn):
            ctx.client("sns").delete_topic(TopicArn=arn)
