"""SNS writes: a team's incident topic with an HTTPS subscription to its incident tool's webhook.

The webhook URL is a secret: it reaches this writer in the resource's ``secrets`` (from the service snapshot's
receivers), never from the catalog, and is never logged; plans and the inventory hold its fingerprint only.
"""

from typing import Any

from ...aws.context import AwsContext, has_tags, tag_list
from ...aws.kinds import TOPIC
from ...observed.aws.sns import PROTOCOL, exists, https_subscriptions, topic_arn, topic_tags
from ...resources import Resource


class TopicWriter:
    kind = TOPIC

    def apply(self, ctx: AwsContext, resource: Resource) -> dict[str, Any]:
        sns, body = ctx.client("sns"), resource.body
        arn = topic_arn(ctx, resource.name)
        created = not exists(ctx, arn)
        if created:
            arn = sns.create_topic(Name=resource.name, Tags=tag_list(body["tags"]))["TopicArn"]
        elif not has_tags(topic_tags(ctx, arn), body["tags"]):
            sns.tag_resource(ResourceArn=arn, Tags=tag_list(body["tags"]))
        url = resource.secrets.get("endpoint", "") if body["subscriptions"] else ""
        # A topic created just now has no subscription (Subscribe is idempotent, should another worker have made
        # the topic and subscribed a moment ago).
        current = [] if created else https_subscriptions(ctx, arn)
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
