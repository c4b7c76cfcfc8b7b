"""A team's incident topic: one per team, subscribed to the incident tool's CloudWatch/SNS source, kept while the
team has services."""

import json

from portal.catalog.models import Team
from provisioning.choices import RunStatus
from provisioning.models import ManagedResource, Plan, RunLogEntry
from provisioning.operations import destroy_service, drift_check_service, plan_service
from tests.engine.conftest import register, run_task, update

from .conftest import apply, tagged

TOPIC = "arn:aws:sns:ap-northeast-1:123456789012:portal-payments-incidents"
SEARCH_TOPIC = "arn:aws:sns:ap-northeast-1:123456789012:portal-search-incidents"
WEBHOOK = "https://hooks.example.com/sns/T0/B0/x"  # the team fixture's SNS source, not its Alertmanager one


def subscriptions(sandbox_client) -> list[str]:
    subs = sandbox_client("sns").list_subscriptions_by_topic(TopicArn=TOPIC)["Subscriptions"]
    return [s["Endpoint"] for s in subs if s["Protocol"] == "https"]


def topics(sandbox_client) -> list[str]:
    return [t["TopicArn"] for t in sandbox_client("sns").list_topics()["Topics"]]


def test_the_topic_stays_while_the_team_has_services_and_goes_with_the_last(aws, team, sre, sandbox_client):
    ledger, billing = register(name="ledger"), register(name="billing")
    assert apply(ledger, sre).status == RunStatus.SUCCEEDED
    assert apply(billing, sre).status == RunStatus.SUCCEEDED
    assert topics(sandbox_client) == [TOPIC]
    assert subscriptions(sandbox_client) == [WEBHOOK]
    (record,) = ManagedResource.objects.filter(kind="sns.Topic")
    assert (record.scope, record.service_id, record.external_id) == ("team:payments", None, TOPIC)

    run = run_task(destroy_service(ledger))
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert "sns.Topic" not in set(run.steps.values_list("kind", flat=True))
    assert topics(sandbox_client) == [TOPIC] and subscriptions(sandbox_client) == [WEBHOOK]
    assert ManagedResource.objects.filter(kind="sns.Topic").exists()

    run = run_task(destroy_service(billing))
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert ("delete", "sns.Topic") in set(run.steps.values_list("action", "kind"))
    assert topics(sandbox_client) == []
    assert tagged(sandbox_client("resourcegroupstaggingapi"), {"portal:team": "payments"}) == []
    assert not ManagedResource.objects.exists()


def test_another_teams_service_leaves_the_topic_alone(aws, team, sre, sandbox_client):
    Team.objects.create(slug="search", name="Search")
    ledger = register(name="ledger")
    assert apply(ledger, sre).status == RunStatus.SUCCEEDED
    other = register(name="finder", team="search")
    assert apply(other, sre).status == RunStatus.SUCCEEDED
    assert run_task(destroy_service(other)).status == RunStatus.SUCCEEDED
    assert topics(sandbox_client) == [TOPIC]


def test_a_service_moving_team_takes_the_topic_of_the_team_it_left_when_it_was_its_last(aws, team, sre, sandbox_client):
    Team.objects.create(slug="search", name="Search")
    ledger, billing = register(name="ledger"), register(name="billing")
    assert apply(ledger, sre).status == RunStatus.SUCCEEDED
    assert apply(billing, sre).status == RunStatus.SUCCEEDED

    # payments keeps billing: its topic stays.
    ledger = update(ledger, team="search")
    assert apply(ledger, sre).status == RunStatus.SUCCEEDED
    assert sorted(topics(sandbox_client)) == [TOPIC, SEARCH_TOPIC]

    # billing was payments' last service: its plan shows the topic going, its apply removes it and its record.
    billing = update(billing, team="search")
    plan = plan_service(billing)
    assert ("delete", "sns.Topic", "portal-payments-incidents") in {
        (c["action"], c["kind"], c["name"]) for c in plan.changes
    }
    # A drift check compares the service's resources with what was applied: the topic is the apply's to remove.
    check = run_task(drift_check_service(billing))
    assert check.status == RunStatus.SUCCEEDED, check.error
    assert not check.drift_found and check.plan is None
    run = apply(billing, sre)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert ("delete", "sns.Topic") in set(run.steps.values_list("action", "kind"))
    assert topics(sandbox_client) == [SEARCH_TOPIC]
    assert not ManagedResource.objects.filter(scope="team:payments").exists()
    assert ManagedResource.objects.filter(scope="team:search", kind="sns.Topic").exists()


def test_the_webhook_url_never_reaches_a_plan_the_inventory_or_a_log(aws, team, sre):
    service = register(name="ledger")
    run = apply(service, sre)
    assert run.status == RunStatus.SUCCEEDED
    plan_service(service)
    stored = [
        json.dumps(list(Plan.objects.values_list("changes", "snapshot"))),
        json.dumps(list(ManagedResource.objects.values_list("applied_body", flat=True))),
        json.dumps(list(RunLogEntry.objects.values_list("message", "extra"))),
    ]
    assert not [text for text in stored if "hooks.example.com/services" in text or "hooks.example.com/sns" in text]
    topic = ManagedResource.objects.get(kind="sns.Topic").applied_body
    assert topic["subscriptions"][0]["endpoint_fingerprint"]


def test_a_changed_webhook_resubscribes_the_topic(aws, team, sre, sandbox_client):
    service = register(name="ledger")
    assert apply(service, sre).status == RunStatus.SUCCEEDED
    team.incident_sns_url = "https://hooks.example.com/services/T0/B0/rotated"
    team.save()
    plan = plan_service(service)
    (change,) = [c for c in plan.changes if c["action"] != "unchanged" and c["provider"] == "aws"]
    assert (change["action"], change["kind"]) == ("update", "sns.Topic")
    assert [d["path"] for d in change["diff"]] == ["subscriptions[0].endpoint_fingerprint"]
    assert apply(service, sre, plan=plan).status == RunStatus.SUCCEEDED
    assert subscriptions(sandbox_client) == ["https://hooks.example.com/services/T0/B0/rotated"]

    team.incident_sns_url = ""
    team.save()
    assert apply(service, sre).status == RunStatus.SUCCEEDED
    assert subscriptions(sandbox_client) == []
