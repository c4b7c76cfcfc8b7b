"""Alert routing (seed §19): alerts of a team's services go to its Slack channel and, when critical, to its
incident tool, with the incident commander and resolver on call named in every Slack message.

Two renderings of one routing policy, both pure (no I/O, no clock; the on-call pair comes in the spec):

- ``build_alerting``: per service namespace, an ``AlertmanagerConfig`` for the Prometheus operator and the
  ``Secret`` holding the receivers' URLs (``data``, base64: the API server never returns ``stringData``, so a
  plan comparing it would never converge). The operator adds a ``namespace="<service>"`` matcher to the
  top-level route and to inhibit rules by itself, so only ``team`` and ``severity`` are matched here; the
  PrometheusRule alerts carry ``namespace`` for that reason.
- ``build_alertmanager_yaml``: a complete ``alertmanager.yml`` for every team, for platforms that run
  Alertmanager without the operator. Alertmanager 0.25 (Debian's) has no ``url_file`` for webhooks, so the
  receiver URLs are written inline: the file itself is a secret (mount it from a Secret, never commit it).

The incident tool's Alertmanager source gets Alertmanager's standard webhook JSON with the source's bearer token
(``http_config.authorization``; the operator reads it from the receivers Secret). Templated webhook payloads need
Alertmanager 0.32, so the pair on call reaches the incident tool as the alerts' annotations
(``incident_commander``, ``resolver`` and their e-mails, from the PrometheusRule) and the Slack message names it.
On-call names are baked into both, so a handoff needs a re-render: ``oncall.refresh_routing`` re-applies the
team's services when the pair on call changes.
"""

import base64
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from provisioning import names
from provisioning.resources import Resource, k8s
from provisioning.spec import OnCallPair, PlatformSpec, ServiceSpec

from .prometheus import SEVERITY_PAGE, SEVERITY_TICKET, go_text

ALERTMANAGER_CONFIG_API = "monitoring.coreos.com/v1alpha1"

# Keys of the receivers Secret.
SLACK_URL_KEY = "slack-api-url"
INCIDENT_URL_KEY = "incident-alertmanager-url"
INCIDENT_TOKEN_KEY = "incident-alertmanager-token"  # noqa: S105 -- a key name, not a secret
BEARER = "Bearer"

# The AlertmanagerConfig of the platform's own alerts, in the monitoring namespace.
PLATFORM_ROUTING = "platform-alerts"

# Receiver of alerts no team route claims, in the standalone file; the platform may give it integrations.
DEFAULT_RECEIVER = "platform-default"

# The labels the PrometheusRule alerts carry, minus namespace: one notification per alert, service and severity.
GROUP_BY = ("alertname", "service", "severity")
# A critical alert silences the warnings of the same service (the slow burn behind a fast burn, the latency).
INHIBIT_EQUAL = ("team", "service")


@dataclass(frozen=True)
class AlertTiming:
    """Alertmanager's notification timings; tests shorten them, production keeps the defaults."""

    group_wait: str = "30s"
    group_interval: str = "5m"
    repeat_interval: str = "4h"
    page_repeat_interval: str = "1h"
    resolve_timeout: str = "5m"  # standalone file only: the operator's Alertmanager has its own global section


DEFAULT_TIMING = AlertTiming()


def slack_receiver(team: str) -> str:
    return f"{team}-slack"


def incident_receiver(team: str) -> str:
    return f"{team}-incident"


@dataclass(frozen=True)
class _Team:
    """What routing needs to know of a team; the URLs and the token are only read by the standalone rendering."""

    slug: str
    slack_channel: str
    oncall: OnCallPair
    slack_api_url: str
    alertmanager_url: str
    alertmanager_token: str


def _team(svc: ServiceSpec) -> _Team:
    return _Team(
        slug=svc.team.slug,
        slack_channel=svc.team.slack_channel,
        oncall=svc.oncall,
        slack_api_url=svc.receivers.slack_api_url,
        alertmanager_url=svc.receivers.alertmanager_url,
        alertmanager_token=svc.receivers.alertmanager_token,
    )


# --- the routing policy, in Alertmanager's own terms (snake_case, matchers as triples) -------------------


def _team_route(team: _Team, timing: AlertTiming) -> dict[str, Any]:
    """The team's subtree: everything labelled ``team`` to Slack; critical ones to the incident tool too."""
    slack, by_severity = slack_receiver(team.slug), []
    if team.alertmanager_url:
        by_severity.append(
            {"receiver": incident_receiver(team.slug), "matchers": [("severity", "=", SEVERITY_PAGE)], "continue": True}
        )
    by_severity += [
        {
            "receiver": slack,
            "matchers": [("severity", "=", SEVERITY_PAGE)],
            "repeat_interval": timing.page_repeat_interval,
        },
        {"receiver": slack, "matchers": [("severity", "=", SEVERITY_TICKET)]},
    ]
    return {
        "receiver": slack,
        "matchers": [("team", "=", team.slug)],
        "group_by": list(GROUP_BY),
        "group_wait": timing.group_wait,
        "group_interval": timing.group_interval,
        "repeat_interval": timing.repeat_interval,
        "routes": by_severity,
    }


def _inhibit_rule() -> dict[str, Any]:
    return {
        "source_matchers": [("severity", "=", SEVERITY_PAGE)],
        "target_matchers": [("severity", "=", SEVERITY_TICKET)],
        "equal": list(INHIBIT_EQUAL),
    }


def _person(username: str, email: str) -> str:
    if not username:
        return "no one scheduled"
    return go_text(f"{username} ({email})" if email else username)


def _oncall_lines(oncall: OnCallPair) -> str:
    if not (oncall.incident_commander or oncall.resolver):
        return "*On call:* no one scheduled (the team has no on-call schedule)\n"
    return (
        f"*Incident commander:* {_person(oncall.incident_commander, oncall.incident_commander_email)}\n"
        f"*Resolver:* {_person(oncall.resolver, oncall.resolver_email)}\n"
    )


SLACK_TITLE = (
    '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] '
    "{{ .CommonLabels.severity }} {{ .CommonLabels.service }}: {{ .CommonLabels.alertname }}"
)


def slack_text(oncall: OnCallPair) -> str:
    """The Slack message body: service and team, who is on call, each alert, links."""
    return (
        "*Service:* {{ .CommonLabels.service }} (team {{ .CommonLabels.team }})\n"
        + _oncall_lines(oncall)
        + "{{ range .Alerts }}- *{{ .Annotations.summary }}*"
        "{{ if .Annotations.description }}\n{{ .Annotations.description }}{{ end }}\n{{ end }}"
        "{{ if .CommonAnnotations.runbook_url }}<{{ .CommonAnnotations.runbook_url }}|Runbook>{{ end }}"
        "{{ if .CommonAnnotations.dashboard_url }} | <{{ .CommonAnnotations.dashboard_url }}|Dashboard>{{ end }}"
    )


def _slack_message(team: _Team) -> dict[str, Any]:
    message: dict[str, Any] = {"send_resolved": True}
    if team.slack_channel:
        message["channel"] = team.slack_channel
    message |= {
        "title": SLACK_TITLE,
        "title_link": "{{ .CommonAnnotations.runbook_url }}",
        "text": slack_text(team.oncall),
    }
    return message


# --- operator rendering: AlertmanagerConfig + Secret ----------------------------------------------------

_CAMEL = {
    "group_by": "groupBy",
    "group_wait": "groupWait",
    "group_interval": "groupInterval",
    "repeat_interval": "repeatInterval",
    "send_resolved": "sendResolved",
    "title_link": "titleLink",
    "source_matchers": "sourceMatch",
    "target_matchers": "targetMatch",
}


def _crd_matchers(matchers: list[tuple[str, str, str]]) -> list[dict[str, str]]:
    return [{"name": name, "matchType": op, "value": value} for name, op, value in matchers]


def _crd(node: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("matchers", "source_matchers", "target_matchers"):
            out[_CAMEL.get(key, key)] = _crd_matchers(value)
        elif key == "routes":
            out[key] = [_crd(route) for route in value]
        else:
            out[_CAMEL.get(key, key)] = list(value) if isinstance(value, list) else value
    return out


def _secret_ref(team: _Team, key: str) -> dict[str, str]:
    return {"name": names.receiver_secret_name(team.slug), "key": key}


def _alertmanager_config(team: _Team, metadata: dict[str, Any], timing: AlertTiming = DEFAULT_TIMING) -> list[Resource]:
    """The AlertmanagerConfig routing the alerts labelled with the team (of the config's namespace) to its
    receivers, reading their URLs from the receivers Secret of the same namespace."""
    slack: dict[str, Any] = {"name": slack_receiver(team.slug)}
    if team.slack_api_url:
        slack["slackConfigs"] = [{"apiURL": _secret_ref(team, SLACK_URL_KEY), **_crd(_slack_message(team))}]
    receivers = [slack]
    if team.alertmanager_url:
        webhook: dict[str, Any] = {"urlSecret": _secret_ref(team, INCIDENT_URL_KEY), "sendResolved": True}
        if team.alertmanager_token:
            authorization = {"type": BEARER, "credentials": _secret_ref(team, INCIDENT_TOKEN_KEY)}
            webhook["httpConfig"] = {"authorization": authorization}
        receivers.append({"name": incident_receiver(team.slug), "webhookConfigs": [webhook]})
    spec = {"route": _crd(_team_route(team, timing)), "receivers": receivers, "inhibitRules": [_crd(_inhibit_rule())]}
    manifest = {"apiVersion": ALERTMANAGER_CONFIG_API, "kind": "AlertmanagerConfig", "metadata": metadata, "spec": spec}
    return [k8s(manifest)]


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def _receiver_secret(team: _Team, metadata: dict[str, Any]) -> list[Resource]:
    """The Secret with the receivers' URLs and the incident tool's token; a key only for a value that is set (the
    token only with its URL), no Secret when none is."""
    values = {SLACK_URL_KEY: team.slack_api_url, INCIDENT_URL_KEY: team.alertmanager_url}
    if team.alertmanager_url:
        values[INCIDENT_TOKEN_KEY] = team.alertmanager_token
    data = {key: _b64(value) for key, value in sorted(values.items()) if value}
    if not data:
        return []
    manifest = {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "type": "Opaque", "data": data}
    return [k8s(manifest, sensitive=True)]


def _metadata(svc: ServiceSpec, name: str) -> dict[str, Any]:
    return {"name": name, "namespace": svc.name, "labels": names.service_labels(svc.team.slug, svc.name)}


def build_alertmanager_config(
    svc: ServiceSpec, platform: PlatformSpec, timing: AlertTiming = DEFAULT_TIMING
) -> list[Resource]:
    """The AlertmanagerConfig routing the service's alerts to its team's receivers."""
    return _alertmanager_config(_team(svc), _metadata(svc, svc.name), timing)


def build_receiver_secret(svc: ServiceSpec) -> list[Resource]:
    """The service namespace's copy of its team's receivers Secret."""
    team = _team(svc)
    return _receiver_secret(team, _metadata(svc, names.receiver_secret_name(team.slug)))


def build_alerting(svc: ServiceSpec, platform: PlatformSpec, timing: AlertTiming = DEFAULT_TIMING) -> list[Resource]:
    """The service's alert routing: the receivers Secret (when any URL is set) and the AlertmanagerConfig."""
    return [*build_receiver_secret(svc), *build_alertmanager_config(svc, platform, timing)]


def platform_team(platform: PlatformSpec) -> _Team | None:
    """The team that runs the platform, as routing sees it; None without one."""
    if not platform.sre_team:
        return None
    receivers = platform.sre_receivers
    return _Team(
        slug=platform.sre_team,
        slack_channel=platform.sre_slack_channel,
        oncall=platform.sre_oncall,
        slack_api_url=receivers.slack_api_url,
        alertmanager_url=receivers.alertmanager_url,
        alertmanager_token=receivers.alertmanager_token,
    )


def build_platform_alerting(
    platform: PlatformSpec, metadata: Callable[[str], dict[str, Any]], timing: AlertTiming = DEFAULT_TIMING
) -> list[Resource]:
    """The routing of the platform's own alerts (the monitoring namespace's, labelled with the SRE team) to the SRE
    team's receivers, like a service's to its team's; nothing without an SRE team. ``metadata(name)``: the
    platform's metadata of an object of the monitoring namespace."""
    team = platform_team(platform)
    if team is None:
        return []
    return [
        *_receiver_secret(team, metadata(names.receiver_secret_name(team.slug))),
        *_alertmanager_config(team, metadata(PLATFORM_ROUTING), timing),
    ]


# --- standalone rendering: alertmanager.yml -------------------------------------------------------------


def _am_matchers(matchers: list[tuple[str, str, str]]) -> list[str]:
    # Double-quoted values in Alertmanager's matcher syntax; team slugs and severities need no escaping.
    return [f'{name}{op}"{value}"' for name, op, value in matchers]


def _am(node: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("matchers", "source_matchers", "target_matchers"):
            out[key] = _am_matchers(value)
        elif key == "routes":
            out[key] = [_am(route) for route in value]
        else:
            out[key] = list(value) if isinstance(value, list) else value
    return out


def _teams(services: Iterable[ServiceSpec], platform: PlatformSpec) -> list[_Team]:
    """One entry per team, taken from its first service by name (a team's services share these values), and the
    SRE team (which receives the platform's own alerts, services or not)."""
    teams: dict[str, _Team] = {}
    for svc in sorted(services, key=lambda s: (s.team.slug, s.name)):
        teams.setdefault(svc.team.slug, _team(svc))
    sre = platform_team(platform)
    if sre is not None:
        teams[sre.slug] = sre
    return [teams[slug] for slug in sorted(teams)]


def build_alertmanager_config_document(
    services: Iterable[ServiceSpec], platform: PlatformSpec, timing: AlertTiming = DEFAULT_TIMING
) -> dict[str, Any]:
    """A complete Alertmanager configuration for the teams of ``services``, receiver URLs inline."""
    teams = _teams(services, platform)
    receivers: list[dict[str, Any]] = [{"name": DEFAULT_RECEIVER}]
    for team in teams:
        slack: dict[str, Any] = {"name": slack_receiver(team.slug)}
        if team.slack_api_url:
            slack["slack_configs"] = [{"api_url": team.slack_api_url, **_am(_slack_message(team))}]
        receivers.append(slack)
        if team.alertmanager_url:
            webhook: dict[str, Any] = {"url": team.alertmanager_url, "send_resolved": True}
            if team.alertmanager_token:
                webhook["http_config"] = {"authorization": {"type": BEARER, "credentials": team.alertmanager_token}}
            receivers.append({"name": incident_receiver(team.slug), "webhook_configs": [webhook]})
    return {
        "global": {"resolve_timeout": timing.resolve_timeout},
        "route": {
            "receiver": DEFAULT_RECEIVER,
            "group_by": list(GROUP_BY),
            "group_wait": timing.group_wait,
            "group_interval": timing.group_interval,
            "repeat_interval": timing.repeat_interval,
            "routes": [_am(_team_route(team, timing)) for team in teams],
        },
        "receivers": receivers,
        "inhibit_rules": [_am(_inhibit_rule())],
    }


class _Dumper(yaml.SafeDumper):
    """No anchors and aliases: every value is written where it is used."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Message templates span lines: literal blocks keep them readable.
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _represent_str)


def build_alertmanager_yaml(
    services: Iterable[ServiceSpec], platform: PlatformSpec, timing: AlertTiming = DEFAULT_TIMING
) -> str:
    """``build_alertmanager_config_document`` as alertmanager.yml. It holds the receiver URLs: treat it as a secret."""
    document = build_alertmanager_config_document(services, platform, timing)
    header = "# Generated by the platform portal. Holds receiver URLs: keep it secret, do not edit by hand.\n"
    return header + yaml.dump(
        document, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000
    )
