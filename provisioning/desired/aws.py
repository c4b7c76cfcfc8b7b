"""The AWS half of a service (DESIGN §3): pure, deterministic, no I/O.

Every body holds only what the portal declares (compared field by field with what AWS reports) plus tags.

- ``route53.Record``: an alias A record per hostname in the level's hosted zone (the zone id is the
  resource's namespace) pointing at the level's ALB. Route53 records have no tags, so ``tags`` is kept in a
  TXT record next to it (``names.record_owner_name``): that is how orphans are found and how a record another
  service (or a person) owns is never overwritten.
- ``acm.Certificate``: one per hostname (namespace: the exposure level), DNS-validated in the level's zone,
  ``ISSUED`` and attached to the level's HTTPS listener. The validation CNAME is only known once the certificate
  has been requested, so writing it is part of this resource's apply, and removing it part of its delete.
- ``logs.LogGroup``: ``/eks/<cluster>/<team>/<service>`` with the chosen retention; Fluent Bit ships the
  namespace's container logs there, the Istio sidecar's JSON access log included.
- ``sns.Topic``: the team's incident topic (inventory scope ``team:<slug>``, kept while the team has services)
  with an HTTPS subscription to the incident tool's CloudWatch/SNS source (not its Alertmanager source: the two
  senders' payloads differ, so the tool gives each its own address). The URL is a secret: the body holds only
  its keyed fingerprint, so a changed URL shows as a change; the URL itself travels in the resource's
  ``secrets`` (from the service snapshot's receivers) to the writer, and nowhere else.

The 5xx alarm. ALB metrics have no per-host dimension and every service shares the level's one target group
(ALB -> NodePort -> Istio ingress gateway), so ``HTTPCode_Target_5XX_Count`` of the ALB is a platform-wide
signal that cannot say which service fails. Instead the service's own sidecar access log is the source: a
``logs.MetricFilter`` on its log group counts entries with ``response_code >= 500`` whose ``authority`` is one
of the service's public hostnames (requests that came in through the ALB), published as
``Portal/Services <service>-http-5xx``, and a ``cloudwatch.MetricAlarm`` on that metric notifies the team's
topic. Metric-filter dimensions can only take values from the log event and the sidecar's log has no service
field, so the service is in the metric name. Limits: errors the gateway answers itself (no healthy pod at all)
never reach the sidecar's log; the SLO burn-rate alerts of the PrometheusRule, which read the gateway's
telemetry, cover that. Without access logging there is nothing to count, so no filter and no alarm.
"""

from ..aws.kinds import ALARM, CERTIFICATE, LOG_GROUP, METRIC_FILTER, RECORD, TOPIC
from ..names import (
    METRIC_NAMESPACE,
    alarm_name,
    http_5xx_metric_name,
    log_group_name,
    metric_filter_name,
    service_tags,
    sns_topic_arn,
    team_tags,
    team_topic_name,
)
from ..resources import Resource, aws
from ..scopes import team_key
from ..spec import EXPOSED_LEVELS, OnCallPair, PlatformSpec, ServiceSpec, TeamSpec

# Every AWS kind a service (or its team) can own.
SERVICE_AWS_KINDS = (TOPIC, LOG_GROUP, METRIC_FILTER, ALARM, CERTIFICATE, RECORD)


# Alarm when at least 5 requests a minute fail in 3 of the last 5 minutes; quiet when no traffic is logged.
ALARM_PERIOD_SECONDS = 60
ALARM_EVALUATION_PERIODS = 5
ALARM_DATAPOINTS = 3
ALARM_THRESHOLD = 5
# CloudWatch Logs refuses filter patterns longer than this.
PATTERN_MAX_LENGTH = 1024


def build_aws(svc: ServiceSpec, platform: PlatformSpec) -> list[Resource]:
    """The AWS resources of one service: always a log group and the team's topic; ALB-facing pieces when exposed."""
    team = svc.team.slug
    tags = service_tags(team, svc.name)
    log_group = log_group_name(platform.cluster_name, team, svc.name)
    resources = [
        aws(LOG_GROUP, log_group, {"retention_days": svc.telemetry.log_retention_days, "tags": tags}),
        team_topic(svc.team, svc.receivers.sns_url),
    ]
    if svc.exposure.level not in EXPOSED_LEVELS or not svc.exposure.hostnames:
        return resources
    level = svc.exposure.level
    hostnames = sorted(svc.exposure.hostnames)
    zone_id = platform.zone_id(level)
    for host in hostnames:
        resources.append(
            aws(
                RECORD,
                host,
                {
                    "type": "A",
                    "alias": {
                        "dns_name": platform.alb_dns_name(level).lower(),
                        "hosted_zone_id": platform.alb_zone_id(level),
                        "evaluate_target_health": True,
                    },
                    "tags": tags,
                },
                namespace=zone_id,
            )
        )
        resources.append(
            aws(
                CERTIFICATE,
                host,
                {
                    "domain_name": host,
                    "validation_method": "DNS",
                    "validation_zone_id": zone_id,
                    "listener_arn": platform.listener_arn(level),
                    "status": "ISSUED",
                    "tags": tags,
                },
                namespace=level,
            )
        )
    if svc.telemetry.access_logging:
        resources.extend(error_alarm(svc, platform, log_group, hostnames))
    return resources


def team_topic(team: TeamSpec, webhook_url: str = "") -> Resource:
    """The team's topic; the webhook URL goes to the writer as a secret, the body keeps its keyed fingerprint
    (computed by the snapshot, so a changed URL shows as a change without the builder holding a key)."""
    fingerprint = team.incident_sns_fingerprint
    subscriptions = [{"protocol": "https", "endpoint_fingerprint": fingerprint}] if fingerprint else []
    return aws(
        TOPIC,
        team_topic_name(team.slug),
        {"subscriptions": subscriptions, "tags": team_tags(team.slug)},
        owner=team_key(team.slug),
        secrets={"endpoint": webhook_url} if webhook_url else {},
    )


# CloudWatch's limit on an alarm's description.
DESCRIPTION_MAX_LENGTH = 1024


def alarm_description(what: str, oncall: OnCallPair) -> str:
    """What the alarm watches and who is on call: SNS delivers the description with every notification, so the
    incident tool's CloudWatch source can assign the pair. Re-rendered at each hand-over like the alert routing."""
    people = [
        f"{role} {name}" + (f" <{email}>" if email else "")
        for role, name, email in (
            ("incident commander", oncall.incident_commander, oncall.incident_commander_email),
            ("resolver", oncall.resolver, oncall.resolver_email),
        )
        if name
    ]
    text = f"{what}. On call: {', '.join(people)}." if people else f"{what}. On call: no one scheduled."
    return text[:DESCRIPTION_MAX_LENGTH]


def error_pattern(hostnames: list[str]) -> str:
    """Sidecar access-log entries of failed requests that came in through the ALB (by their Host)."""
    hosts = " || ".join(f'$.authority = "{host}"' for host in hostnames)
    pattern = f"{{ $.response_code >= 500 && ({hosts}) }}"
    if len(pattern) <= PATTERN_MAX_LENGTH:
        return pattern
    # Too many names to list: every failed inbound request of the service.
    return '{ $.response_code >= 500 && $.upstream_cluster = "inbound|*" }'


def error_alarm(svc: ServiceSpec, platform: PlatformSpec, log_group: str, hostnames: list[str]):
    metric = {"namespace": METRIC_NAMESPACE, "name": http_5xx_metric_name(svc.name)}
    topic = sns_topic_arn(platform.region, platform.aws_account_id, team_topic_name(svc.team.slug))
    return [
        aws(
            METRIC_FILTER,
            metric_filter_name(svc.name),
            {"pattern": error_pattern(hostnames), "metric": {**metric, "value": "1"}},
            namespace=log_group,
        ),
        aws(
            ALARM,
            alarm_name(svc.name),
            {
                "description": alarm_description(
                    f"5xx responses of {svc.name} to requests through the {svc.exposure.level} ALB", svc.oncall
                ),
                "metric": metric,
                "statistic": "Sum",
                "period": ALARM_PERIOD_SECONDS,
                "evaluation_periods": ALARM_EVALUATION_PERIODS,
                "datapoints_to_alarm": ALARM_DATAPOINTS,
                "threshold": ALARM_THRESHOLD,
                "comparison_operator": "GreaterThanOrEqualToThreshold",
                "treat_missing_data": "notBreaching",
                "alarm_actions": [topic],
                "ok_actions": [topic],
                "tags": service_tags(svc.team.slug, svc.name),
            },
        ),
    ]
