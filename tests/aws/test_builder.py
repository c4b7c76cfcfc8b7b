"""The AWS builder is pure: same spec, same resources, byte for byte; bodies hold what the portal declares."""

from portal.core.crypto import fingerprint
from provisioning.desired import render_service
from provisioning.desired.aws import PATTERN_MAX_LENGTH, build_aws, error_pattern
from provisioning.resources import canonical_json
from provisioning.spec import OnCallPair, PlatformSpec, Receivers, TeamSpec
from tests.specs import respec, service_spec

PLATFORM = PlatformSpec(
    aws_account_id="123456789012",
    external_zone_id="ZEXTERNAL",
    internal_zone_id="ZINTERNAL",
    external_alb_dns_name="portal-external-1.ap-northeast-1.elb.amazonaws.com",
    external_alb_zone_id="Z14GRHDCWA56QT",
    external_listener_arn="arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:listener/app/portal-external/1/2",
)
WEBHOOK = "https://hooks.example.com/services/T0/B0/secret-token"
TEAM = TeamSpec(slug="payments", name="Payments", incident_sns_fingerprint=fingerprint(WEBHOOK))
SERVICE = service_spec(
    name="payments-api",
    team=TEAM,
    level="external",
    hostnames=("pay.example.com", "api.pay.example.com"),
    log_retention_days=14,
    receivers=Receivers(sns_url=WEBHOOK),
)


def test_an_exposed_service_gets_records_certificates_a_log_group_an_alarm_and_its_teams_topic():
    resources = build_aws(SERVICE, PLATFORM)
    assert [(r.kind, r.namespace, r.name) for r in resources] == [
        ("logs.LogGroup", "", "/eks/sandbox/payments/payments-api"),
        ("sns.Topic", "", "portal-payments-incidents"),
        ("route53.Record", "ZEXTERNAL", "api.pay.example.com"),
        ("acm.Certificate", "external", "api.pay.example.com"),
        ("route53.Record", "ZEXTERNAL", "pay.example.com"),
        ("acm.Certificate", "external", "pay.example.com"),
        ("logs.MetricFilter", "/eks/sandbox/payments/payments-api", "portal-payments-api-5xx"),
        ("cloudwatch.MetricAlarm", "", "portal-payments-api-alb-5xx"),
    ]
    assert {r.provider for r in resources} == {"aws"}
    assert len({r.key for r in resources}) == len(resources)
    by_kind = {r.kind: r for r in resources}
    assert by_kind["logs.LogGroup"].body == {
        "retention_days": 14,
        "tags": {"portal:managed": "true", "portal:team": "payments", "portal:service": "payments-api"},
    }
    assert by_kind["route53.Record"].body["alias"] == {
        "dns_name": PLATFORM.external_alb_dns_name,
        "hosted_zone_id": "Z14GRHDCWA56QT",
        "evaluate_target_health": True,
    }
    assert by_kind["acm.Certificate"].body["listener_arn"] == PLATFORM.external_listener_arn
    topic = by_kind["sns.Topic"]
    assert topic.owner == "team:payments" and "portal:service" not in topic.body["tags"]
    alarm = by_kind["cloudwatch.MetricAlarm"].body
    assert alarm["alarm_actions"] == ["arn:aws:sns:ap-northeast-1:123456789012:portal-payments-incidents"]
    assert alarm["metric"] == {"namespace": "Portal/Services", "name": "payments-api-http-5xx"}
    assert by_kind["logs.MetricFilter"].body["metric"] == {**alarm["metric"], "value": "1"}


def test_the_same_spec_renders_the_same_bytes():
    first = [canonical_json(r.body) for r in build_aws(SERVICE, PLATFORM)]
    assert first == [canonical_json(r.body) for r in build_aws(respec(SERVICE), PLATFORM)]


def test_the_webhook_is_in_no_body_only_its_fingerprint():
    bodies = canonical_json([r.body for r in build_aws(SERVICE, PLATFORM)])
    assert "secret-token" not in bodies and "hooks.example.com" not in bodies
    rotated = WEBHOOK + "-rotated"
    other = respec(
        SERVICE,
        team=TeamSpec(slug="payments", name="Payments", incident_sns_fingerprint=fingerprint(rotated)),
        receivers=Receivers(sns_url=rotated),
    )
    topic = lambda svc: next(r for r in build_aws(svc, PLATFORM) if r.kind == "sns.Topic")  # noqa: E731
    assert topic(SERVICE).digest != topic(other).digest
    none = respec(SERVICE, team=TeamSpec(slug="payments", name="Payments"), receivers=Receivers())
    assert topic(none).body["subscriptions"] == []


def test_a_mesh_only_service_has_a_log_group_and_its_teams_topic():
    mesh = respec(SERVICE, level="mesh", hostnames=())
    assert [r.kind for r in build_aws(mesh, PLATFORM)] == ["logs.LogGroup", "sns.Topic"]


def test_without_access_logs_there_is_nothing_to_alarm_on():
    quiet = respec(SERVICE, access_logging=False)
    assert "cloudwatch.MetricAlarm" not in {r.kind for r in build_aws(quiet, PLATFORM)}


def test_the_error_pattern_counts_requests_through_the_alb_by_host():
    assert error_pattern(["a.example.com", "b.example.com"]) == (
        '{ $.response_code >= 500 && ($.authority = "a.example.com" || $.authority = "b.example.com") }'
    )
    many = [f"host-{i:02d}.service.example.com" for i in range(40)]
    assert len(error_pattern(many)) <= PATTERN_MAX_LENGTH
    assert "inbound" in error_pattern(many)


def test_render_service_puts_the_aws_half_after_the_kubernetes_objects():
    resources = render_service(SERVICE, PLATFORM)
    providers = [r.provider for r in resources]
    assert providers == sorted(providers, key=lambda p: p != "kubernetes")
    aws = [r.kind for r in resources if r.provider == "aws"]
    assert aws[:3] == ["sns.Topic", "logs.LogGroup", "logs.MetricFilter"], "what others point at comes first"


def test_the_alarm_names_the_pair_on_call_for_the_sns_source():
    def description(oncall: OnCallPair) -> str:
        resources = build_aws(respec(SERVICE, oncall=oncall), PLATFORM)
        return next(r for r in resources if r.kind == "cloudwatch.MetricAlarm").body["description"]

    assert description(OnCallPair("bob", "dave", "bob@example.com")) == (
        "5xx responses of payments-api to requests through the external ALB. "
        "On call: incident commander bob <bob@example.com>, resolver dave."
    )
    assert description(OnCallPair()).endswith("On call: no one scheduled.")
    assert len(description(OnCallPair("x" * 2000))) == 1024
