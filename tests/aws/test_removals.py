"""An edit that only removes something is applied to the AWS half too: the plan names what goes, and AWS no longer
has it afterwards."""

from portal.catalog.services import update_team
from provisioning.choices import RunStatus
from provisioning.operations import plan_service
from tests.engine.conftest import register, update

from .conftest import apply, certificates, expose, zone_records

HOSTS = ["pay.example.com", "api.pay.example.com"]
TOPIC = "arn:aws:sns:ap-northeast-1:123456789012:portal-payments-incidents"


def test_a_hostname_taken_out_loses_its_record_certificate(bootstrapped, team, sre, sandbox_client):
    service = expose("payments-api", "external", HOSTS)
    assert apply(service, sre).status == RunStatus.SUCCEEDED
    service = update(service, exposure={"hostnames": ["pay.example.com"]})
    plan = plan_service(service)
    changed = {
        (c["action"], c["kind"], c["name"])
        for c in plan.changes
        if c["action"] != "unchanged" and c["provider"] == "aws"
    }
    assert changed == {
        ("delete", "route53.Record", "api.pay.example.com"),
        ("delete", "acm.Certificate", "api.pay.example.com"),
        ("update", "logs.MetricFilter", "portal-payments-api-5xx"),
    }
    assert apply(service, sre, plan=plan).status == RunStatus.SUCCEEDED
    records = zone_records(sandbox_client("route53"), bootstrapped.external_zone_id)
    assert ("api.pay.example.com", "A") not in records and ("pay.example.com", "A") in records
    assert [c["DomainName"] for c in certificates(sandbox_client("acm")) if c["DomainName"] in HOSTS] == HOSTS[:1]


def test_a_team_clearing_its_incident_tool_unsubscribes_its_topic(aws, team, sre, sandbox_client):
    service = register(name="ledger")
    assert apply(service, sre).status == RunStatus.SUCCEEDED
    subscriptions = sandbox_client("sns").list_subscriptions_by_topic
    assert [s["Protocol"] for s in subscriptions(TopicArn=TOPIC)["Subscriptions"]] == ["https"]
    update_team(team, {"incident_sns_url": ""})
    plan = plan_service(service)
    (change,) = [c for c in plan.changes if c["kind"] == "sns.Topic"]
    assert change["action"] == "update" and [d["path"] for d in change["diff"]] == ["subscriptions"]
    assert apply(service, sre, plan=plan).status == RunStatus.SUCCEEDED
    assert subscriptions(TopicArn=TOPIC)["Subscriptions"] == []
