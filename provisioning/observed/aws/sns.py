"""SNS as the portal sees it: a team's incident topic, its HTTPS subscriptions (as fingerprints) and tags.

Only HTTPS subscriptions are the portal's: others a team adds by hand (e-mail, chat) are left alone.
"""

from typing import Any

from botocore.exceptions import ClientError

from portal.core.crypto import fingerprint

from ...aws.context import AwsContext, tag_dict
from ...aws.errors import is_code
from ...aws.kinds import TOPIC
from ...names import sns_topic_arn
from ...resources import Resource, aws
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
    """A topic as the builder declares it (its HTTPS subscriptions' fingerprints, its tags); None if absent. Its
    subscriptions are listed first: a topic that is not there answers NotFound, so nothing asks if it exists."""
    arn = topic_arn(ctx, name)
    try:
        subscribed = https_subscriptions(ctx, arn)
    except ClientError as exc:
        if is_code(exc, "NotFound", "NotFoundException"):
            return None
        raise
    endpoints = sorted(fingerprint(s["Endpoint"]) for s in subscribed)
    subscriptions = [{"protocol": PROTOCOL, "endpoint_fingerprint": e} for e in endpoints]
    return {"subscriptions": subscriptions, "tags": topic_tags(ctx, arn)}


class TopicReader:
    kind = TOPIC

    def observe(self, obs: Observation, desired: list[Resource], recorded: list[Resource]) -> list[Resource]:
        """A team's topic is read once per observe (once per batch in a drift sweep: the team's services share it)."""
        found = []
        for resource in {r.name: r for r in (*recorded, *desired)}.values():
            body = obs.once(("sns.topic", resource.name), topic_state, obs.ctx, resource.name)
            if body is not None:
                found.append(aws(TOPIC, resource.name, body, owner=resource.owner))
        return found
