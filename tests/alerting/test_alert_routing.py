"""Alert routing: the AlertmanagerConfig and Secret builders, amtool on the generated alertmanager.yml, and a real
Alertmanager delivering alerts labelled by the PrometheusRule builder to a Slack-compatible receiver."""

import base64
import contextlib
import copy
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from portal.catalog.api.serializers import ServiceSerializer
from portal.catalog.models import Membership, PlatformSettings, Team
from portal.catalog.services import create_service
from portal.oncall.api.serializers import ScheduleSerializer
from portal.users.models import User
from provisioning import names
from provisioning.desired import render_service
from provisioning.desired.alerting import (
    INCIDENT_TOKEN_KEY,
    INCIDENT_URL_KEY,
    SLACK_URL_KEY,
    AlertTiming,
    build_alerting,
    build_alertmanager_yaml,
    incident_receiver,
    slack_receiver,
)
from provisioning.desired.platform import render_platform
from provisioning.desired.platform.cluster import cluster_alerts
from provisioning.desired.prometheus import build_prometheus_rule
from provisioning.preflight import VENDORED_CRD_DIR, SchemaValidator
from provisioning.resources import Resource
from provisioning.snapshot import platform_snapshot, service_queryset, service_snapshot
from provisioning.spec import OnCallPair, PlatformSpec, Receivers, ServiceSpec, Slo, TeamSpec
from tests.specs import respec, service_spec

CRD_DIR = VENDORED_CRD_DIR
PLATFORM = PlatformSpec(portal_url="https://portal.example.com")
SLACK_URL = "https://hooks.slack.com/services/T0/B0/secret"
ALICE_AND_CAROL = OnCallPair("alice", "carol")


def incident_url(team: str) -> str:
    return f"https://hooks.example.com/incidents/{team}"


def snapshot(
    name: str = "payments-api",
    team: str = "payments",
    *,
    oncall: OnCallPair = ALICE_AND_CAROL,
    slack: str = SLACK_URL,
    incident: str | None = None,
    token: str | None = None,
    **changes: Any,
) -> ServiceSpec:
    base = service_spec(
        name=name,
        team=TeamSpec(slug=team, name=team.title(), slack_channel=f"#{team}-alerts"),
        slo=Slo(availability=99.9, latency_p99_ms=300),
        oncall=oncall,
        receivers=Receivers(
            slack_api_url=slack,
            alertmanager_url=incident_url(team) if incident is None else incident,
            alertmanager_token=f"token-{team}" if token is None else token,
        ),
    )
    return respec(base, **changes)


def by_kind(resources: list[Resource]) -> dict[str, Resource]:
    return {r.kind: r for r in resources}


def alert_rules(svc: ServiceSpec, platform: PlatformSpec = PLATFORM) -> list[dict[str, Any]]:
    """The alerting rules exactly as the PrometheusRule builder renders them."""
    (rule,) = build_prometheus_rule(svc, platform)
    return [r for group in rule.body["spec"]["groups"] for r in group["rules"] if "alert" in r]


def fired_labels(rule: dict[str, Any]) -> dict[str, str]:
    """The labels Prometheus gives an alert of this rule: the rule's labels plus alertname."""
    return {"alertname": rule["alert"], **rule["labels"]}


def tool(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        pytest.fail(f"{name} not found: install Debian's 'prometheus-alertmanager' package")
    return path


def amtool(*args: str) -> str:
    result = subprocess.run([tool("amtool"), *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, (
        f"amtool {' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}"
    )
    return result.stdout


# --- builder ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validator() -> SchemaValidator:
    return SchemaValidator.from_crd_dir(CRD_DIR)


def child_routes(route: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for child in route.get("routes", []):
        yield child
        yield from child_routes(child)


@pytest.mark.parametrize(
    "svc",
    [
        snapshot(),
        snapshot(token=""),
        snapshot(incident=""),
        snapshot(slack="", incident=""),
        snapshot(oncall=OnCallPair()),
    ],
    ids=["both-receivers", "no-token", "slack-only", "no-receivers", "no-schedule"],
)
def test_objects_validate_strictly_against_their_schemas(validator, svc):
    resources = build_alerting(svc, PLATFORM)
    assert validator.validate_all(r.body for r in resources) == []
    # The CRD leaves child routes open (preserve-unknown-fields); the operator parses them as routes, so
    # check each one strictly as the top-level route it would be.
    config = by_kind(resources)["AlertmanagerConfig"].body
    for child in child_routes(config["spec"]["route"]):
        as_top = copy.deepcopy(config)
        as_top["spec"]["route"] = child
        assert validator.validate(as_top) == [], child


def test_the_secret_holds_base64_data_named_for_the_team():
    resources = by_kind(build_alerting(snapshot(), PLATFORM))
    secret = resources["Secret"]
    assert secret.sensitive is True
    assert (secret.namespace, secret.name) == ("payments-api", names.receiver_secret_name("payments"))
    assert "stringData" not in secret.body
    decoded = {key: base64.b64decode(value).decode() for key, value in secret.body["data"].items()}
    assert decoded == {
        SLACK_URL_KEY: SLACK_URL,
        INCIDENT_URL_KEY: incident_url("payments"),
        INCIDENT_TOKEN_KEY: "token-payments",
    }
    assert names.service_labels("payments", "payments-api").items() <= secret.body["metadata"]["labels"].items()
    assert not resources["AlertmanagerConfig"].sensitive


def secret_refs(node: Any) -> Iterator[dict[str, str]]:
    if isinstance(node, dict):
        if set(node) == {"name", "key"}:
            yield node
        for value in node.values():
            yield from secret_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from secret_refs(value)


@pytest.mark.parametrize(
    ("svc", "keys"),
    [
        (snapshot(), [INCIDENT_TOKEN_KEY, INCIDENT_URL_KEY, SLACK_URL_KEY]),
        (snapshot(token=""), [INCIDENT_URL_KEY, SLACK_URL_KEY]),
        (snapshot(incident=""), [SLACK_URL_KEY]),
        (snapshot(slack=""), [INCIDENT_TOKEN_KEY, INCIDENT_URL_KEY]),
    ],
    ids=["both", "no-token", "no-incident-tool", "no-slack"],
)
def test_every_secret_reference_resolves_and_no_key_is_empty(svc, keys):
    resources = by_kind(build_alerting(svc, PLATFORM))
    secret = resources["Secret"].body
    assert sorted(secret["data"]) == keys
    assert all(secret["data"].values())
    refs = list(secret_refs(resources["AlertmanagerConfig"].body["spec"]))
    assert sorted(ref["key"] for ref in refs) == keys
    assert {ref["name"] for ref in refs} == {secret["metadata"]["name"]}


def test_without_urls_there_is_no_secret_and_the_receivers_are_silent():
    resources = build_alerting(snapshot(slack="", incident=""), PLATFORM)
    assert [r.kind for r in resources] == ["AlertmanagerConfig"]
    spec = resources[0].body["spec"]
    assert spec["receivers"] == [{"name": "payments-slack"}]
    assert {r["receiver"] for r in child_routes(spec["route"])} == {"payments-slack"}


def test_routes_match_team_then_severity_and_critical_alerts_also_page_the_incident_tool():
    spec = by_kind(build_alerting(snapshot(), PLATFORM))["AlertmanagerConfig"].body["spec"]
    route = spec["route"]
    # No namespace matcher: the operator adds namespace="<object namespace>" to the top-level route itself.
    assert route["matchers"] == [{"name": "team", "matchType": "=", "value": "payments"}]
    assert route["receiver"] == slack_receiver("payments")
    assert route["groupBy"] == ["alertname", "service", "severity"]
    assert [
        (r["receiver"], [(m["name"], m["value"]) for m in r["matchers"]], r.get("continue", False))
        for r in route["routes"]
    ] == [
        ("payments-incident", [("severity", "critical")], True),
        ("payments-slack", [("severity", "critical")], False),
        ("payments-slack", [("severity", "warning")], False),
    ]
    assert spec["inhibitRules"] == [
        {
            "sourceMatch": [{"name": "severity", "matchType": "=", "value": "critical"}],
            "targetMatch": [{"name": "severity", "matchType": "=", "value": "warning"}],
            "equal": ["team", "service"],
        }
    ]


def test_slack_messages_name_the_people_on_call_and_the_service():
    spec = by_kind(build_alerting(snapshot(oncall=OnCallPair("bob", "dave")), PLATFORM))["AlertmanagerConfig"].body
    (slack,) = spec["spec"]["receivers"][0]["slackConfigs"]
    assert slack["channel"] == "#payments-alerts"
    assert slack["sendResolved"] is True
    assert "*Incident commander:* bob\n*Resolver:* dave\n" in slack["text"]
    for template in (
        "{{ .CommonLabels.service }}",
        "{{ .Annotations.summary }}",
        "{{ .CommonAnnotations.runbook_url }}",
    ):
        assert template in slack["text"]
    assert "{{ .CommonLabels.service }}" in slack["title"]
    assert "{{ .CommonLabels.alertname }}" in slack["title"]


def test_a_team_without_a_schedule_says_so():
    spec = by_kind(build_alerting(snapshot(oncall=OnCallPair()), PLATFORM))["AlertmanagerConfig"].body["spec"]
    assert "no one scheduled" in spec["receivers"][0]["slackConfigs"][0]["text"]


def test_render_service_includes_the_alert_routing():
    resources = render_service(snapshot(), PLATFORM)
    routing = [(r.kind, r.name) for r in resources if r.kind in ("Secret", "AlertmanagerConfig")]
    assert routing == [("Secret", "payments-alert-receivers"), ("AlertmanagerConfig", "payments-api")]


def fleet(teams: int = 3, services: int = 5) -> list[ServiceSpec]:
    """``teams`` teams of ``services`` services each, with different on-call pairs and receivers."""
    slugs = ["payments", "search", "identity", "ledger"][:teams]
    return [
        snapshot(
            f"{slug}-svc{i}",
            slug,
            oncall=OnCallPair(f"{slug}-ic", f"{slug}-resolver"),
            incident="" if slug == "search" else None,
            protocol="grpc" if i % 2 else "http",
            slo=Slo(availability=99.9, latency_p99_ms=300 if i % 3 else None),
        )
        for slug in slugs
        for i in range(services)
    ]


def test_building_is_deterministic_and_free_of_yaml_aliases():
    services = fleet()
    first = build_alertmanager_yaml(services, PLATFORM)
    assert build_alertmanager_yaml(list(reversed(services)), PLATFORM) == first
    objects = yaml.safe_dump_all([r.body for svc in services for r in build_alerting(svc, PLATFORM)], sort_keys=True)
    assert (
        yaml.safe_dump_all([r.body for svc in services for r in build_alerting(svc, PLATFORM)], sort_keys=True)
        == objects
    )
    for text in (first, objects):
        assert "&id" not in text
        assert "*id" not in text


# --- amtool --------------------------------------------------------------------------------------------------


def test_amtool_accepts_the_alertmanager_yml_for_3_teams_and_5_services_each(tmp_path):
    services = fleet(teams=3, services=5)
    path = tmp_path / "alertmanager.yml"
    path.write_text(build_alertmanager_yaml(services, PLATFORM))
    output = amtool("check-config", str(path))
    assert "SUCCESS" in output
    assert " - 6 receivers" in output  # platform-default + Slack for 3 teams + the incident tool for 2 of them
    assert " - 1 inhibit rules" in output
    document = yaml.safe_load(path.read_text())
    assert [r["matchers"] for r in document["route"]["routes"]] == [
        ['team="identity"'],
        ['team="payments"'],
        ['team="search"'],
    ]


def expected_receivers(labels: dict[str, str], has_incident_tool: bool) -> str:
    team = labels["team"]
    if labels["severity"] == "critical" and has_incident_tool:
        return f"{incident_receiver(team)},{slack_receiver(team)}"
    return slack_receiver(team)


def test_every_prometheus_rule_alert_is_labelled_and_routed_to_its_team(tmp_path):
    """Contract between the two builders, checked by amtool's own router: every alert the PrometheusRule can
    raise carries team, service, severity and the links, and reaches its team's receivers."""
    services = fleet(teams=3, services=3)
    path = tmp_path / "alertmanager.yml"
    path.write_text(build_alertmanager_yaml(services, PLATFORM))
    checked = 0
    for svc in services:
        for rule in alert_rules(svc):
            labels = fired_labels(rule)
            assert {k: labels[k] for k in ("team", "service", "namespace")} == {
                "team": svc.team.slug,
                "service": svc.name,
                "namespace": svc.name,
            }
            assert labels["severity"] in ("critical", "warning")
            assert rule["annotations"]["runbook_url"] == f"https://portal.example.com/services/{svc.name}/runbook"
            assert rule["annotations"]["dashboard_url"] == f"https://portal.example.com/services/{svc.name}/dashboard"
            args = [f"{k}={v}" for k, v in sorted(labels.items())]
            routed = amtool("config", "routes", "test", f"--config.file={path}", *args).strip()
            assert routed == expected_receivers(labels, bool(svc.receivers.alertmanager_url)), labels
            checked += 1
    # Two burn-rate alerts each, a latency alert where there is a latency objective, two availability alerts each.
    assert checked == 9 * 2 + 6 + 9 * 2


_SNAKE = {
    "groupBy": "group_by",
    "groupWait": "group_wait",
    "groupInterval": "group_interval",
    "repeatInterval": "repeat_interval",
    "sendResolved": "send_resolved",
    "titleLink": "title_link",
}


def operator_config(resources: list[Resource]) -> dict[str, Any]:
    """What the Prometheus operator makes of AlertmanagerConfig objects (namespace matcher strategy
    OnNamespace): receivers prefixed with namespace/name, a namespace matcher on the top-level route and on
    inhibit rules, Secret references replaced by the Secret's values."""
    secrets = {
        (r.namespace, r.name): {k: base64.b64decode(v).decode() for k, v in r.body["data"].items()}
        for r in resources
        if r.kind == "Secret"
    }
    routes: list[dict[str, Any]] = []
    receivers: list[dict[str, Any]] = [{"name": "null"}]
    inhibit_rules: list[dict[str, Any]] = []
    for resource in (r for r in resources if r.kind == "AlertmanagerConfig"):
        namespace, prefix, spec = resource.namespace, f"{resource.namespace}/{resource.name}/", resource.body["spec"]
        in_namespace = f'namespace="{namespace}"'

        def matchers(items: list[dict[str, str]]) -> list[str]:
            return [f'{m["name"]}{m.get("matchType", "=")}"{m["value"]}"' for m in items]

        def route(node: dict[str, Any], top: bool, prefix: str = prefix, in_namespace: str = in_namespace) -> dict:
            out = {_SNAKE.get(k, k): v for k, v in node.items() if k not in ("matchers", "routes", "receiver")}
            out["receiver"] = prefix + node["receiver"]
            out["matchers"] = matchers(node.get("matchers", [])) + ([in_namespace] if top else [])
            if top:
                out["continue"] = True
            if node.get("routes"):
                out["routes"] = [route(child, False) for child in node["routes"]]
            return out

        def secret(ref: dict[str, str], namespace: str = namespace) -> str:
            return secrets[(namespace, ref["name"])][ref["key"]]

        routes.append(route(spec["route"], True))
        for receiver in spec["receivers"]:
            out: dict[str, Any] = {"name": prefix + receiver["name"]}
            for config in receiver.get("slackConfigs", []):
                fields = {_SNAKE.get(k, k): v for k, v in config.items() if k != "apiURL"}
                out.setdefault("slack_configs", []).append({"api_url": secret(config["apiURL"]), **fields})
            for config in receiver.get("webhookConfigs", []):
                fields = {_SNAKE.get(k, k): v for k, v in config.items() if k not in ("urlSecret", "httpConfig")}
                webhook = {"url": secret(config["urlSecret"]), **fields}
                if authorization := config.get("httpConfig", {}).get("authorization"):
                    credentials = secret(authorization["credentials"])
                    webhook["http_config"] = {
                        "authorization": {"type": authorization["type"], "credentials": credentials}
                    }
                out.setdefault("webhook_configs", []).append(webhook)
            receivers.append(out)
        for rule in spec.get("inhibitRules", []):
            inhibit_rules.append(
                {
                    "source_matchers": [*matchers(rule["sourceMatch"]), in_namespace],
                    "target_matchers": [*matchers(rule["targetMatch"]), in_namespace],
                    "equal": rule["equal"],
                }
            )
    return {
        "route": {"receiver": "null", "routes": routes},
        "receivers": receivers,
        "inhibit_rules": inhibit_rules,
    }


def test_amtool_accepts_what_the_operator_makes_of_the_alertmanager_configs(tmp_path):
    services = fleet(teams=3, services=2)
    resources = [r for svc in services for r in build_alerting(svc, PLATFORM)]
    path = tmp_path / "operator.yml"
    path.write_text(yaml.safe_dump(operator_config(resources), sort_keys=False))
    assert "SUCCESS" in amtool("check-config", str(path))
    svc = services[0]
    labels = fired_labels(next(r for r in alert_rules(svc) if r["labels"]["severity"] == "critical"))
    routed = amtool("config", "routes", "test", f"--config.file={path}", *[f"{k}={v}" for k, v in labels.items()])
    prefix = f"{svc.name}/{svc.name}/"
    assert routed.strip() == f"{prefix}{incident_receiver(svc.team.slug)},{prefix}{slack_receiver(svc.team.slug)}"


# --- end to end: a real Alertmanager, a Slack-compatible receiver ----------------------------------------------


class Recorder(ThreadingHTTPServer):
    """Slack and the incident tool on loopback: records every JSON body posted, answers ``ok``."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.lock = threading.Lock()
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.authorizations: list[tuple[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def authorization(self, path: str) -> set[str]:
        """The Authorization headers of the posts to ``path``."""
        with self.lock:
            return {header for where, header in self.authorizations if where == path}

    def received(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [body for where, body in self.posts if where == path]

    def paths(self) -> set[str]:
        with self.lock:
            return {where for where, _ in self.posts}


class _RecordingHandler(BaseHTTPRequestHandler):
    server: Recorder

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        with self.server.lock:
            self.server.posts.append((self.path, body))
            self.server.authorizations.append((self.path, self.headers.get("Authorization", "")))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 20.0, diagnostics: Callable[[], str] = str):
    """Poll ``condition`` until it returns something truthy; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}\n{diagnostics()}")
        time.sleep(0.05)


@contextlib.contextmanager
def alertmanager(config: Path, workdir: Path) -> Iterator[str]:
    """Debian's Alertmanager on a loopback port with ``config``, clustering off; stopped however the test ends."""
    port, log_path = free_port(), workdir / "alertmanager.log"
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                tool("prometheus-alertmanager"),
                f"--config.file={config}",
                f"--storage.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
                "--log.level=debug",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:

            def ready() -> bool:
                if process.poll() is not None:
                    pytest.fail(f"alertmanager exited with {process.returncode}:\n{log_path.read_text()}")
                with contextlib.suppress(requests.RequestException):
                    return requests.get(f"{url}/-/ready", timeout=1).status_code == 200
                return False

            wait_for(ready, "alertmanager to be ready", diagnostics=log_path.read_text)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


ONCALL_KEYS = ("incident_commander", "incident_commander_email", "resolver", "resolver_email")
FAST = AlertTiming(group_wait="1s", group_interval="1s", repeat_interval="1h", page_repeat_interval="1h")


def schedule(team: Team, time_zone: str, commanders: list[str], resolvers: list[str]) -> None:
    rotations = [
        {"role": role, "members": members, "shift_hours": 168, "start": "2026-11-23T10:00:00"}
        for role, members in (("incident_commander", commanders), ("resolver", resolvers))
    ]
    serializer = ScheduleSerializer(data={"time_zone": time_zone, "rotations": rotations}, context={"team": team})
    serializer.is_valid(raise_exception=True)
    serializer.save()


def register(name: str, team: str) -> None:
    slo = {"availability": 99.9, "latency_p99_ms": 300}
    serializer = ServiceSerializer(data={"name": name, "team": team, "telemetry": {"slo": slo}})
    serializer.is_valid(raise_exception=True)
    create_service(serializer.validated_data)


@pytest.fixture
def catalog(team, recorder) -> datetime:
    """payments (bob and dave on call at the returned instant) and search (erin and frank), one service each;
    the platform's Slack URL and the teams' incident webhooks point at the recorder."""
    for slug, people in (("payments", ["alice", "bob", "carol", "dave"]), ("search", ["erin", "frank"])):
        owner = Team.objects.get_or_create(
            slug=slug, defaults={"name": slug.title(), "slack_channel": f"#{slug}-alerts"}
        )[0]
        owner.incident_alertmanager_url = f"{recorder.url}/incident/{slug}"
        owner.incident_alertmanager_token = f"source-token-{slug}"
        owner.incident_sns_url = f"{recorder.url}/sns/{slug}"
        owner.save()
        for name in people:
            user = User.objects.create(username=name, email=f"{name}@example.com")
            Membership.objects.create(team=owner, user=user)
    schedule(Team.objects.get(slug="payments"), "Asia/Tokyo", ["alice", "bob"], ["carol", "dave"])
    schedule(Team.objects.get(slug="search"), "Europe/London", ["erin"], ["frank"])
    register("payments-api", "payments")
    register("search-api", "search")
    platform = PlatformSettings.load()
    platform.slack_webhook_url = f"{recorder.url}/slack"
    platform.save()
    return datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # the second week: bob and dave


def post_alerts(url: str, rules: list[dict[str, Any]], starts: datetime, ends: datetime) -> None:
    alerts = [
        {
            "labels": fired_labels(rule),
            "annotations": rule["annotations"],
            "startsAt": starts.isoformat(),
            "endsAt": ends.isoformat(),
            "generatorURL": "http://prometheus.invalid/graph",
        }
        for rule in rules
    ]
    response = requests.post(f"{url}/api/v2/alerts", json=alerts, timeout=5)
    assert response.status_code == 200, response.text


def test_alertmanager_delivers_the_generated_alerts_to_the_right_team_with_the_people_on_call(
    catalog, recorder, tmp_path
):
    row = PlatformSettings.load()
    snapshots = {s.name: service_snapshot(s, at=catalog, settings_row=row) for s in service_queryset()}
    platform = platform_snapshot(row)
    config = tmp_path / "alertmanager.yml"
    config.write_text(build_alertmanager_yaml(snapshots.values(), platform, FAST))
    assert "SUCCESS" in amtool("check-config", str(config))

    payments = snapshots["payments-api"]
    assert payments.oncall == OnCallPair("bob", "dave", "bob@example.com", "dave@example.com")
    burn = {r["labels"]["severity"]: r for r in alert_rules(payments, platform) if r["alert"] == "ErrorBudgetBurn"}
    # The fast burn pages; the slow burn of the same service is inhibited while it does.
    rules = [burn["critical"], burn["warning"]]

    with alertmanager(config, tmp_path) as url:
        log = (tmp_path / "alertmanager.log").read_text

        def seen() -> str:
            return f"received: {recorder.posts}\nalertmanager log:\n{log()}"

        # Starting now, so group_wait holds the first notification back: an alert that started longer ago is
        # flushed at once, possibly before the inhibitor has seen the critical alert that mutes the warning.
        starts = datetime.now(UTC)
        post_alerts(url, rules, starts, starts + timedelta(hours=1))

        def slack(status: str) -> list[dict[str, Any]]:
            return [
                body for body in recorder.received("/slack") if body["attachments"][0]["title"].startswith(f"[{status}")
            ]

        def incident(status: str) -> list[dict[str, Any]]:
            return [body for body in recorder.received("/incident/payments") if body["status"] == status]

        firings = wait_for(lambda: slack("FIRING"), "the firing Slack notification", diagnostics=seen)
        assert len(firings) == 1, seen()
        firing = firings[0]
        (paged,) = wait_for(lambda: incident("firing"), "the firing incident webhook", diagnostics=seen)

        assert firing["channel"] == "#payments-alerts"
        attachment = firing["attachments"][0]
        assert attachment["title"] == "[FIRING:1] critical payments-api: ErrorBudgetBurn"
        assert attachment["title_link"] == burn["critical"]["annotations"]["runbook_url"]
        assert "*Service:* payments-api (team payments)" in attachment["text"]
        assert (
            "*Incident commander:* bob (bob@example.com)\n*Resolver:* dave (dave@example.com)\n" in attachment["text"]
        )
        assert burn["critical"]["annotations"]["summary"] in attachment["text"]
        # The incident tool's Alertmanager source: its bearer token, the alert, and the pair on call to assign.
        assert paged["commonLabels"] == fired_labels(burn["critical"])
        assert recorder.authorization("/incident/payments") == {"Bearer source-token-payments"}
        assert {k: paged["commonAnnotations"][k] for k in ONCALL_KEYS} == {
            "incident_commander": "bob",
            "incident_commander_email": "bob@example.com",
            "resolver": "dave",
            "resolver_email": "dave@example.com",
        }

        post_alerts(url, rules, starts, datetime.now(UTC) - timedelta(seconds=1))
        (resolved,) = wait_for(lambda: slack("RESOLVED"), "the resolved Slack notification", diagnostics=seen)
        wait_for(lambda: incident("resolved"), "the resolved incident webhook", diagnostics=seen)
        assert resolved["channel"] == "#payments-alerts"
        assert resolved["attachments"][0]["title"] == "[RESOLVED] critical payments-api: ErrorBudgetBurn"
        assert "*Incident commander:* bob (bob@example.com)\n" in resolved["attachments"][0]["text"]

    # The other team heard nothing, the inhibited warning never went out, and the SNS source is not Alertmanager's.
    assert recorder.paths() == {"/slack", "/incident/payments"}
    assert all(body["channel"] == "#payments-alerts" for body in recorder.received("/slack"))
    assert not [b for b in recorder.received("/slack") if "warning" in b["attachments"][0]["title"]]
    assert len(recorder.received("/slack")) == 2


def test_the_platforms_cluster_alert_reaches_the_sre_teams_incident_tool_with_its_pair_on_call(
    catalog, recorder, tmp_path
):
    """The team that runs the platform is a team like any other (here: search, erin and frank on call): a cluster
    alert goes through the monitoring namespace's AlertmanagerConfig, as the operator reads it, to that team's
    incident tool with its bearer token and pair, and to its Slack channel."""
    PlatformSettings.objects.update(sre_team="search")
    platform = platform_snapshot()
    assert platform.sre_oncall == OnCallPair("erin", "frank", "erin@example.com", "frank@example.com")
    routing = [
        r
        for r in render_platform(platform)
        if r.namespace == "monitoring" and r.kind in ("Secret", "AlertmanagerConfig")
    ]
    assert sorted(r.kind for r in routing) == ["AlertmanagerConfig", "Secret"]
    config = tmp_path / "alertmanager.yml"
    operator = operator_config(routing)
    operator["route"] |= {"group_wait": "1s", "group_interval": "1s"}
    for route in operator["route"]["routes"]:
        route |= {"group_wait": "1s", "group_interval": "1s"}
    config.write_text(yaml.safe_dump(operator, sort_keys=False))
    assert "SUCCESS" in amtool("check-config", str(config))
    (node_down,) = [r for r in cluster_alerts(platform) if r["alert"] == "NodeNotReady"]

    with alertmanager(config, tmp_path) as url:

        def seen() -> str:
            return f"received: {recorder.posts}\nalertmanager log:\n{(tmp_path / 'alertmanager.log').read_text()}"

        starts = datetime.now(UTC)
        annotations = {**node_down["annotations"], "description": "Node ip-10-0-1-10 has not been Ready for 5 minutes."}
        alert = {
            "labels": {**fired_labels(node_down), "node": "ip-10-0-1-10"},
            "annotations": annotations,
            "startsAt": starts.isoformat(),
            "endsAt": (starts + timedelta(hours=1)).isoformat(),
        }
        assert requests.post(f"{url}/api/v2/alerts", json=[alert], timeout=5).status_code == 200
        (paged,) = wait_for(lambda: recorder.received("/incident/search"), "the SRE team's incident tool", 20, seen)
        (slack,) = wait_for(lambda: recorder.received("/slack"), "the SRE team's Slack channel", 20, seen)

    assert recorder.authorization("/incident/search") == {"Bearer source-token-search"}
    assert paged["commonLabels"]["alertname"] == "NodeNotReady"
    assert (paged["commonLabels"]["team"], paged["commonLabels"]["namespace"]) == ("search", "monitoring")
    assert {k: paged["commonAnnotations"][k] for k in ONCALL_KEYS} == {
        "incident_commander": "erin",
        "incident_commander_email": "erin@example.com",
        "resolver": "frank",
        "resolver_email": "frank@example.com",
    }
    assert slack["channel"] == "#search-alerts"
    assert (
        "*Incident commander:* erin (erin@example.com)\n*Resolver:* frank (frank@example.com)\n"
        in (slack["attachments"][0]["text"])
    )
    # Nothing went to the other team.
    assert recorder.paths() == {"/slack", "/incident/search"}
