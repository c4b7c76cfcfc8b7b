"""What a new service's plan and apply read in AWS: each host's records with one listing from its name, nothing of
a log group's metric filters while the group does not exist, no listing of certificates GetResources already
answers for, no platform load balancer; the apply looks each resource up once before writing it."""

from collections import Counter

from provisioning.aws.context import AwsContext
from provisioning.names import record_owner_name
from provisioning.observed.aws.route53 import HOST_PAGE, host_rrsets
from provisioning.operations import plan_service

from .conftest import apply, expose

HOSTS = ["pay.example.com", "api.pay.example.com"]


def operations(aws_calls) -> Counter:
    return Counter(f"{c.service}:{c.operation}" for c in aws_calls.calls)


def test_a_new_services_plan_and_apply_look_each_resource_up_once(bootstrapped, team, sre, aws_calls):
    service = expose("payments-api", "external", HOSTS, telemetry={"access_logging": True})
    aws_calls.restart()
    plan = plan_service(service)
    planned = operations(aws_calls)
    assert planned["route53:ListResourceRecordSets"] == len(HOSTS), "one listing from each host's name"
    assert planned["resourcegroupstaggingapi:GetResources"] == 1
    for unneeded in ("acm:ListCertificates", "logs:DescribeMetricFilters", "elbv2:DescribeLoadBalancers"):
        assert planned[unneeded] == 0, unneeded
    assert planned["logs:DescribeLogGroups"] == planned["cloudwatch:DescribeAlarms"] == 1

    aws_calls.restart()
    run = apply(service, sre, plan=plan)
    assert run.status == "succeeded", run.error
    assert run.log_entries.filter(event="provisioning.plan.reused").exists(), "the run applied the plan it was shown"
    applied = operations(aws_calls)
    assert applied["route53:ListResourceRecordSets"] == len(HOSTS), "the A and owner TXT records: one listing"
    assert applied["logs:DescribeLogGroups"] == 1 and applied["logs:DescribeMetricFilters"] == 1
    assert applied["cloudwatch:DescribeAlarms"] == 1
    assert applied["acm:ListCertificates"] == len(HOSTS)


def test_a_hosts_owner_record_past_the_first_page_is_still_found(bootstrapped, sandbox_client):
    """More names under the host than one page holds: the owner TXT record is looked up on its own."""
    zone_id, host = bootstrapped.zone_id("external"), "crowded.example.com"
    route53 = sandbox_client("route53")
    names = [f"_{i:02d}.{host}" for i in range(int(HOST_PAGE) + 5)]  # all sort before "_portal-owner"
    changes = [
        {
            "Action": "CREATE",
            "ResourceRecordSet": {"Name": n, "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "x."}]},
        }
        for n in names
    ]
    changes.append(
        {
            "Action": "CREATE",
            "ResourceRecordSet": {"Name": host, "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "10.0.0.1"}]},
        }
    )
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    ctx = AwsContext(bootstrapped)
    record, owner = host_rrsets(ctx, zone_id, host)
    assert record["ResourceRecords"] == [{"Value": "10.0.0.1"}] and owner is None

    owner_name = record_owner_name(host)
    owner_record = {"Name": owner_name, "Type": "TXT", "TTL": 60, "ResourceRecords": [{"Value": '"portal:service=x"'}]}
    route53.change_resource_record_sets(
        HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": owner_record}]}
    )
    record, owner = host_rrsets(ctx, zone_id, host)
    assert owner["ResourceRecords"] == [{"Value": '"portal:service=x"'}]


def test_a_missing_owner_record_is_known_from_the_record_after_it(bootstrapped, sandbox_client, aws_calls):
    """One listing says the owner record is absent when a name that sorts after it is on the page."""
    zone_id, host = bootstrapped.zone_id("external"), "lone.example.com"
    route53 = sandbox_client("route53")
    changes = [
        {
            "Action": "CREATE",
            "ResourceRecordSet": {"Name": name, "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "10.0.0.2"}]},
        }
        for name in (host, f"zz.{host}", *(f"z{i:02d}.example.com" for i in range(int(HOST_PAGE) + 5)))
    ]
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    aws_calls.restart()
    record, owner = host_rrsets(AwsContext(bootstrapped), zone_id, host)
    assert record is not None and owner is None
    assert operations(aws_calls)["route53:ListResourceRecordSets"] == 1


def test_a_teams_topic_is_read_by_its_subscriptions_and_tags(bootstrapped, team, sre, aws_calls):
    first = expose("payments-api", "external", ["pay.example.com"])
    aws_calls.restart()
    plan_service(first)
    assert operations(aws_calls)["sns:ListSubscriptionsByTopic"] == 1, "its NotFound says the topic is not there"
    assert operations(aws_calls)["sns:GetTopicAttributes"] == 0
    assert apply(first, sre).status == "succeeded"
    second = expose("payments-web", "external", ["web.example.com"])
    aws_calls.restart()
    plan = plan_service(second)
    read = operations(aws_calls)
    assert (read["sns:ListSubscriptionsByTopic"], read["sns:ListTagsForResource"], read["sns:GetTopicAttributes"]) == (
        1,
        1,
        0,
    )
    (topic,) = [c for c in plan.changes if c["kind"] == "sns.Topic"]
    assert topic["action"] == "unchanged"
