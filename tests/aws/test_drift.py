"""Drift of AWS resources: changes made in the console (or by hand with boto3) show up field by field."""

from provisioning.choices import RunStatus
from provisioning.models import ManagedResource
from provisioning.operations import drift_check_service
from provisioning.scopes import service_key
from tests.engine.conftest import run_task

from .conftest import apply, expose, zone_records

HOST = "pay.example.com"


def test_a_changed_retention_and_a_deleted_record_are_reported(bootstrapped, team, sre, sandbox_client):
    service = expose("payments-api", "external", [HOST], telemetry={"log_retention_days": 30})
    assert apply(service, sre).status == RunStatus.SUCCEEDED
    logs, route53 = sandbox_client("logs"), sandbox_client("route53")
    logs.put_retention_policy(logGroupName="/eks/sandbox/payments/payments-api", retentionInDays=7)
    alias = zone_records(route53, bootstrapped.external_zone_id)[(HOST, "A")]
    route53.change_resource_record_sets(
        HostedZoneId=bootstrapped.external_zone_id,
        ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": alias}]},
    )

    run = run_task(drift_check_service(service))
    assert run.status == RunStatus.SUCCEEDED and run.drift_found
    group = ManagedResource.objects.get(kind="logs.LogGroup", scope=service_key(service.name))
    assert (group.status, group.drift) == ("drifted", [{"path": "retention_days", "old": 7, "new": 30}])
    record = ManagedResource.objects.get(kind="route53.Record")
    assert record.status == "missing"
    assert {"path": "alias.dns_name", "old": None, "new": bootstrapped.external_alb_dns_name} in record.drift
    log = "\n".join(run.log_entries.filter(event="provisioning.drift.found").values_list("message", flat=True))
    assert "retention_days: 7 -> 30" in log and f"route53.Record {bootstrapped.external_zone_id}/{HOST}: create" in log
    untouched = ManagedResource.objects.filter(provider="aws").exclude(kind__in=["logs.LogGroup", "route53.Record"])
    assert set(untouched.values_list("status", flat=True)) == {"applied"}

    fixed = apply(service, sre)
    assert sorted((s.action, s.kind) for s in fixed.steps.all()) == [
        ("create", "route53.Record"),
        ("update", "logs.LogGroup"),
    ]
    assert logs.describe_log_groups(logGroupNamePrefix="/eks/")["logGroups"][0]["retentionInDays"] == 30
    assert (HOST, "A") in zone_records(route53, bootstrapped.external_zone_id)
    assert set(ManagedResource.objects.filter(provider="aws").values_list("status", flat=True)) == {"applied"}


def test_a_certificate_detached_by_hand_and_lost_tags_are_drift(bootstrapped, team, sre, sandbox_client):
    service = expose("payments-api", "external", [HOST])
    assert apply(service, sre).status == RunStatus.SUCCEEDED
    certificate = ManagedResource.objects.get(kind="acm.Certificate").external_id
    sandbox_client("elbv2").remove_listener_certificates(
        ListenerArn=bootstrapped.external_listener_arn, Certificates=[{"CertificateArn": certificate}]
    )
    alarm = ManagedResource.objects.get(kind="cloudwatch.MetricAlarm").external_id
    sandbox_client("cloudwatch").untag_resource(ResourceARN=alarm, TagKeys=["portal:team"])

    run = run_task(drift_check_service(service))
    assert run.drift_found
    drifted = {r.kind: r.drift for r in ManagedResource.objects.filter(status="drifted")}
    assert drifted == {
        "acm.Certificate": [{"path": "listener_arn", "old": None, "new": bootstrapped.external_listener_arn}],
        "cloudwatch.MetricAlarm": [{"path": "tags.portal:team", "old": None, "new": "payments"}],
    }
    fixed = apply(service, sre)
    assert fixed.status == RunStatus.SUCCEEDED, fixed.error
    assert not ManagedResource.objects.filter(status="drifted").exists()
    assert apply(service, sre).steps.count() == 0
