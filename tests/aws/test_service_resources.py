"""The AWS half of a service, end to end through the engine and a Celery task, against the sandbox."""

from provisioning import names
from provisioning.choices import RunStatus
from provisioning.models import ManagedResource
from provisioning.operations import apply_service, destroy_service, plan_service
from provisioning.scopes import PLATFORM_KEY
from provisioning.spec import PlatformSpec
from tests.engine.conftest import run_task, update

from .conftest import apply, certificates, expose, tagged, zone_records

HOSTS = ["pay.example.com", "api.pay.example.com"]
# The platform's own hosts (its sign-in host and UIs) have their records and certificates on the internal ALB.
PLATFORM_HOSTS = names.platform_hosts(PlatformSpec())["internal"]
TOPIC = "arn:aws:sns:ap-northeast-1:123456789012:portal-payments-incidents"


def listener_certificates(elbv2, listener_arn: str) -> set[str]:
    certs = elbv2.describe_listener_certificates(ListenerArn=listener_arn)["Certificates"]
    return {c["CertificateArn"] for c in certs if not c["IsDefault"]}


def test_an_external_service_with_two_hostnames(bootstrapped, team, sre, sandbox_client):
    platform = bootstrapped
    route53 = sandbox_client("route53")
    platform_records = zone_records(route53, platform.external_zone_id)  # NS, SOA, the default certificate's
    service = expose("payments-api", "external", HOSTS, telemetry={"log_retention_days": 14})
    run = apply(service, sre)
    assert run.status == RunStatus.SUCCEEDED, run.error

    records = zone_records(route53, platform.external_zone_id)
    for host in HOSTS:
        alias = records[(host, "A")]["AliasTarget"]
        assert alias["DNSName"].rstrip(".").lower() == platform.external_alb_dns_name
        assert alias["HostedZoneId"] == platform.external_alb_zone_id
        assert records[(f"_portal-owner.{host}", "TXT")]["ResourceRecords"][0]["Value"] == (
            '"portal:managed=true,portal:service=payments-api,portal:team=payments"'
        )
    validation = {name for name, rtype in records.keys() - platform_records.keys() if rtype == "CNAME"}
    assert validation == {f"_d930b28be6c5927595552b219965053e.{host}" for host in HOSTS}  # moto's fixed token
    internal_records = zone_records(route53, platform.internal_zone_id)
    assert {k[0] for k in internal_records if k[1] == "A"} == set(PLATFORM_HOSTS), "only the platform's own"

    acm = sandbox_client("acm")
    certs = {c["DomainName"]: c["CertificateArn"] for c in certificates(acm)}
    assert {
        d: acm.describe_certificate(CertificateArn=a)["Certificate"]["Status"] for d, a in certs.items() if d in HOSTS
    } == {h: "ISSUED" for h in HOSTS}
    elbv2 = sandbox_client("elbv2")
    assert listener_certificates(elbv2, platform.external_listener_arn) == {certs[h] for h in HOSTS}
    assert listener_certificates(elbv2, platform.internal_listener_arn) == {certs[h] for h in PLATFORM_HOSTS}

    (group,) = sandbox_client("logs").describe_log_groups(logGroupNamePrefix="/eks/sandbox/payments/")["logGroups"]
    assert (group["logGroupName"], group["retentionInDays"]) == ("/eks/sandbox/payments/payments-api", 14)
    (metric_filter,) = sandbox_client("logs").describe_metric_filters(logGroupName=group["logGroupName"])[
        "metricFilters"
    ]
    assert "$.response_code >= 500" in metric_filter["filterPattern"]
    assert all(f'$.authority = "{h}"' in metric_filter["filterPattern"] for h in HOSTS)

    (alarm,) = sandbox_client("cloudwatch").describe_alarms(AlarmNamePrefix="portal-payments-api")["MetricAlarms"]
    assert alarm["AlarmActions"] == alarm["OKActions"] == [TOPIC]
    assert (alarm["Namespace"], alarm["MetricName"]) == (
        "Portal/Services",
        metric_filter["metricTransformations"][0]["metricName"],
    )
    assert sandbox_client("sns").get_topic_attributes(TopicArn=TOPIC)

    external = ManagedResource.objects.filter(provider="aws", kind="acm.Certificate")
    assert {r.external_id for r in external} == {certs[h] for h in HOSTS}

    # The ALBs in front: the external one filters SQL injection and common attacks, the internal one admits
    # the corp networks only.
    wafv2 = sandbox_client("wafv2")
    external_acl = wafv2.get_web_acl_for_resource(ResourceArn=platform.external_alb_arn)["WebACL"]
    groups = {r["Statement"].get("ManagedRuleGroupStatement", {}).get("Name") for r in external_acl["Rules"]}
    assert {"AWSManagedRulesSQLiRuleSet", "AWSManagedRulesCommonRuleSet"} <= groups
    internal_acl = wafv2.get_web_acl_for_resource(ResourceArn=platform.internal_alb_arn)["WebACL"]
    assert "Block" in internal_acl["DefaultAction"]
    (allow,) = internal_acl["Rules"]
    name, ip_set_id = allow["Statement"]["IPSetReferenceStatement"]["ARN"].rsplit("/", 2)[-2:]
    ip_set = wafv2.get_ip_set(Name=name, Scope="REGIONAL", Id=ip_set_id)["IPSet"]
    assert ip_set["Addresses"] == list(platform.corp_cidrs)


def test_moving_a_service_from_external_to_internal_is_one_plan(bootstrapped, team, sre, sandbox_client):
    platform = bootstrapped
    route53 = sandbox_client("route53")
    before = {z: zone_records(route53, z).keys() for z in (platform.external_zone_id, platform.internal_zone_id)}
    service = expose("payments-api", "external", HOSTS)
    assert apply(service, sre).status == RunStatus.SUCCEEDED
    old = {c["DomainName"]: c["CertificateArn"] for c in certificates(sandbox_client("acm"))}
    internal_hosts = ["pay.internal.example.com", "api.pay.internal.example.com"]
    service = update(service, exposure={"level": "internal", "hostnames": internal_hosts})

    plan = plan_service(service)
    aws = {
        (c["action"], c["kind"], c["name"])
        for c in plan.changes
        if c["provider"] == "aws" and c["action"] != "unchanged"
    }
    assert aws == {
        *(("create", kind, host) for host in internal_hosts for kind in ("route53.Record", "acm.Certificate")),
        *(("delete", kind, host) for host in HOSTS for kind in ("route53.Record", "acm.Certificate")),
        ("update", "logs.MetricFilter", "portal-payments-api-5xx"),
        ("update", "cloudwatch.MetricAlarm", "portal-payments-api-alb-5xx"),
    }
    run = run_task(apply_service(service, plan=plan))
    assert run.status == RunStatus.SUCCEEDED, run.error

    assert zone_records(route53, platform.external_zone_id).keys() == before[platform.external_zone_id]
    added = zone_records(route53, platform.internal_zone_id).keys() - before[platform.internal_zone_id]
    assert sorted(added) == sorted(
        [(host, "A") for host in internal_hosts]
        + [(f"_portal-owner.{host}", "TXT") for host in internal_hosts]
        + [(f"_d930b28be6c5927595552b219965053e.{host}", "CNAME") for host in internal_hosts]
    )
    acm = sandbox_client("acm")
    now = {c["DomainName"]: c["CertificateArn"] for c in certificates(acm)}
    assert not set(HOSTS) & set(now), "the external certificates are deleted"
    elbv2 = sandbox_client("elbv2")
    assert listener_certificates(elbv2, platform.external_listener_arn) == set()
    assert listener_certificates(elbv2, platform.internal_listener_arn) == {
        now[h] for h in [*internal_hosts, *PLATFORM_HOSTS]
    }
    assert not {old[h] for h in HOSTS} & set(now.values())


def test_reapplying_an_unchanged_service_makes_no_aws_writes(bootstrapped, team, sre, aws_calls):
    service = expose("payments-api", "external", HOSTS)
    assert apply(service, sre).status == RunStatus.SUCCEEDED
    aws_calls.restart()
    run = apply(service, sre)
    assert run.status == RunStatus.SUCCEEDED
    assert run.steps.count() == 0
    assert aws_calls.writes == []
    assert len(aws_calls.calls) > 0


def test_the_plan_of_a_new_exposed_service_shows_both_halves(bootstrapped, team):
    service = expose("payments-api", "external", HOSTS)
    plan = plan_service(service)
    by_provider = {}
    for change in plan.changes:
        by_provider.setdefault(change["provider"], set()).add(change["kind"])
    assert {"Namespace", "VirtualService", "DestinationRule"} <= by_provider["kubernetes"]
    assert by_provider["aws"] == {
        "route53.Record",
        "acm.Certificate",
        "logs.LogGroup",
        "logs.MetricFilter",
        "cloudwatch.MetricAlarm",
        "sns.Topic",
    }
    assert {c["action"] for c in plan.changes} == {"create"}
    record = next(c for c in plan.changes if c["kind"] == "route53.Record")
    assert {"path": "alias.dns_name", "old": None, "new": bootstrapped.external_alb_dns_name} in record["diff"]


def test_deleting_the_service_leaves_nothing_tagged_for_it(bootstrapped, team, sre, sandbox_client):
    platform = bootstrapped
    before = zone_records(sandbox_client("route53"), platform.external_zone_id).keys()
    service = expose("payments-api", "external", HOSTS)
    assert apply(service, sre).status == RunStatus.SUCCEEDED
    tagging = sandbox_client("resourcegroupstaggingapi")
    assert len(tagged(tagging, {"portal:service": "payments-api"})) == 4  # 2 certificates, the log group, the alarm

    run = run_task(destroy_service(service))
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert tagged(tagging, {"portal:service": "payments-api"}) == []
    assert tagged(tagging, {"portal:team": "payments"}) == [], "the team's last service took the topic along"
    assert zone_records(sandbox_client("route53"), platform.external_zone_id).keys() == before
    assert sorted(c["DomainName"] for c in certificates(sandbox_client("acm"))) == sorted(
        ["example.com", "internal.example.com", *PLATFORM_HOSTS]
    )
    assert sandbox_client("logs").describe_log_groups(logGroupNamePrefix="/eks/sandbox/payments/")["logGroups"] == []
    assert sandbox_client("cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert not ManagedResource.objects.filter(provider="aws").exclude(scope=PLATFORM_KEY).exists()
