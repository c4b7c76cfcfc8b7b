"""Logs, traces and metrics reach where the services' objects expect them, following the generated configs."""

import re
import tomllib
from typing import Any

import pytest
import yaml

from provisioning import names
from provisioning.desired.aws import error_pattern
from provisioning.desired.istio import ACCESS_LOG_PROVIDER, METRICS_PROVIDER
from provisioning.desired.platform.logs import CONFIG_KEY as FLUENT_BIT_KEY
from provisioning.desired.platform.logs import platform_log_groups
from provisioning.desired.platform.tools import OAUTH2_PROXY_CONFIG_KEY, to_toml
from provisioning.desired.prometheus import ISTIO_CERTS_DIR
from tests.specs import service_spec

from . import fluentbit
from .samples import PLATFORM, SERVICES, TEAM, find, one, platform_manifests, service_manifests

APP_LINE = '{"level":"info","msg":"charged"}'
ACCESS_LINE = '{"authority":"pay.example.com","response_code":503,"upstream_cluster":"inbound|8080||"}'


def config_file(kind_namespace: str, name: str, key: str) -> str:
    return one(platform_manifests(), "ConfigMap", name, kind_namespace)["data"][key]


# --- logs -------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fluent_bit() -> dict[str, Any]:
    return yaml.safe_load(config_file(names.LOGGING_NAMESPACE, "fluent-bit", FLUENT_BIT_KEY))


def ship(config: dict[str, Any], namespace: str, container: str, namespace_labels: dict, line: str):
    """Follow one container log line through the pipeline: the CloudWatch outputs it reaches, with the log
    group and stream each one writes it to."""
    pipeline = config["pipeline"]
    (tail,) = pipeline["inputs"]
    directory = tail["path"].rsplit("/", 1)[0]
    path = fluentbit.container_log_path(directory, "pod-7d4b9c-x2x7q", namespace, container)
    assert fluentbit.matches(tail["path"], path)
    tags = [fluentbit.tail_tag(tail["tag"], path)]
    records = {tags[0]: {"log": line, "stream": "stdout"}}
    for step in pipeline["filters"]:
        for tag in [t for t in tags if fluentbit.matches(step["match"], t)]:
            record = records.pop(tag)
            tags.remove(tag)
            if step["name"] == "kubernetes":
                record = fluentbit.kubernetes_filter(step, tag, record, {"app": container}, namespace_labels)
                new_tags = [tag]
            else:
                assert step["name"] == "rewrite_tag"
                new_tags = fluentbit.rewrite_tag(step, tag, record)
            for new in new_tags:
                tags.append(new)
                records[new] = record
    delivered = []
    for tag in tags:
        for output in pipeline["outputs"]:
            if fluentbit.matches(output["match"], tag):
                record = records[tag]
                group = fluentbit.translate(output["log_group_template"], tag, record, check=True)
                stream = fluentbit.translate(output["log_stream_template"], tag, record, check=True)
                delivered.append((output, group or output["log_group_name"], stream))
    return delivered


def namespace_labels(level: str) -> dict[str, str]:
    svc = SERVICES[level]
    return one(service_manifests(svc), "Namespace", svc.name)["metadata"]["labels"]


@pytest.mark.parametrize("level", sorted(SERVICES))
@pytest.mark.parametrize(("container", "line"), [("app", APP_LINE), ("istio-proxy", ACCESS_LINE)])
def test_a_service_namespaces_logs_reach_its_log_group(fluent_bit, level, container, line):
    svc = SERVICES[level]
    (delivered,) = ship(fluent_bit, svc.name, container, namespace_labels(level), line)
    output, group, stream = delivered
    assert output["name"] == "cloudwatch_logs"
    assert output["region"] == PLATFORM.region
    assert group == names.log_group_name(PLATFORM.cluster_name, svc.team.slug, svc.name)
    assert stream == f"pod-7d4b9c-x2x7q.{container}"


def test_other_namespaces_logs_are_not_routed_to_any_service(fluent_bit):
    assert ship(fluent_bit, "kube-system", "coredns", {"kubernetes.io/metadata.name": "kube-system"}, "x") == []


def test_the_pipeline_reads_every_container_and_leaves_log_groups_to_the_portal(fluent_bit):
    (tail,) = fluent_bit["pipeline"]["inputs"]
    assert tail["name"] == "tail" and tail["path"] == "/var/log/containers/*.log"
    assert "cri" in tail["multiline.parser"]
    kubernetes = one_step(fluent_bit, "kubernetes")
    assert kubernetes["namespace_labels"] is True and kubernetes["labels"] is True
    assert kubernetes["merge_log"] is True, "the access log's JSON fields must reach the metric filter"
    outputs = fluent_bit["pipeline"]["outputs"]
    assert [o["match"] for o in outputs] == ["portal.*", "platform.*"]
    assert all(output["auto_create_group"] is False for output in outputs)


def one_step(config: dict[str, Any], name: str) -> dict[str, Any]:
    (step,) = [f for f in config["pipeline"]["filters"] if f["name"] == name]
    return step


def test_a_slash_between_two_record_keys_is_not_a_template_fluent_bit_accepts():
    """Why the log group is built from tag parts: the obvious template cannot work."""
    team = "$kubernetes_namespace['labels']['portal.io/team']"
    service = "$kubernetes_namespace['labels']['portal.io/service']"
    with pytest.raises(fluentbit.TemplateError):
        fluentbit.parse(f"/eks/{PLATFORM.cluster_name}/{team}/{service}")
    record = {"kubernetes_namespace": {"labels": {"portal.io/team": "t", "portal.io/service": "s"}}}
    assert fluentbit.translate(f"portal.{team}.{service}", "x", record, check=True) == "portal.t.s"
    assert fluentbit.translate("/eks/c/$TAG[1]/$TAG[2]", "portal.t.s", {}, check=True) == "/eks/c/t/s"


def test_the_access_log_has_the_fields_the_5xx_metric_filter_reads():
    mesh = yaml.safe_load(config_file(PLATFORM.istio_root_namespace, "istio", "mesh"))
    (envoy,) = [p for p in mesh["extensionProviders"] if p["name"] == ACCESS_LOG_PROVIDER]
    assert envoy["envoyFileAccessLog"]["path"] == "/dev/stdout"
    fields = envoy["envoyFileAccessLog"]["logFormat"]["labels"]
    # Both forms of the filter: hostnames listed, and too many of them to list.
    patterns = [error_pattern(["pay.example.com"]), error_pattern([f"h{i}.example.com" for i in range(100)])]
    referenced = {field for pattern in patterns for field in re.findall(r"\$\.(\w+)", pattern)}
    assert referenced == {"response_code", "authority", "upstream_cluster"}
    assert referenced <= set(fields)
    assert fields["response_code"] == "%RESPONSE_CODE%", "a lone operator keeps its number type"


# --- mesh providers and traces ------------------------------------------------------------------------------------


def test_every_telemetry_provider_is_declared_in_mesh_config():
    mesh = yaml.safe_load(config_file(PLATFORM.istio_root_namespace, "istio", "mesh"))
    declared = {p["name"] for p in mesh["extensionProviders"]}
    telemetries = find(platform_manifests(), "Telemetry") + [
        t for svc in SERVICES.values() for t in find(service_manifests(svc), "Telemetry")
    ]
    used = {
        provider["name"]
        for telemetry in telemetries
        for section in ("accessLogging", "metrics", "tracing")
        for entry in telemetry["spec"].get(section, [])
        for provider in entry["providers"]
    }
    assert used == {ACCESS_LOG_PROVIDER, METRICS_PROVIDER, PLATFORM.otel_provider_name}
    assert used <= declared
    assert mesh["trustDomain"] == names.principal("x").split("/")[0], "the principals the policies name"
    assert mesh["rootNamespace"] == PLATFORM.istio_root_namespace


def test_traces_go_from_the_sidecars_through_the_collector_to_xray_in_the_platforms_region():
    mesh = yaml.safe_load(config_file(PLATFORM.istio_root_namespace, "istio", "mesh"))
    (otel,) = [p["opentelemetry"] for p in mesh["extensionProviders"] if p["name"] == PLATFORM.otel_provider_name]
    assert f"{otel['service']}:{otel['port']}" == PLATFORM.otel_collector_endpoint
    assert otel["service"].split(".")[1] == names.OBSERVABILITY_NAMESPACE

    collector = yaml.safe_load(config_file(names.OBSERVABILITY_NAMESPACE, "opentelemetry-collector", "relay"))
    pipeline = collector["service"]["pipelines"]["traces"]
    assert pipeline["receivers"] == ["otlp"]
    protocols = collector["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"].endswith(f":{otel['port']}")
    assert protocols["http"]["endpoint"].endswith(":4318")
    assert pipeline["processors"] == ["memory_limiter", "batch"]
    assert pipeline["exporters"][-1] == "awsxray"
    assert collector["exporters"]["awsxray"]["region"] == PLATFORM.region
    for section in ("receivers", "processors", "exporters"):
        assert set(pipeline[section]) <= set(collector[section])


# --- metrics and alerts -------------------------------------------------------------------------------------------


def label_selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, "only matchLabels is used"
    return labels.items() >= selector.get("matchLabels", {}).items()


@pytest.mark.parametrize("level", sorted(SERVICES))
def test_prometheus_and_alertmanager_select_the_services_objects(level):
    manifests = platform_manifests()
    prometheus = one(manifests, "Prometheus", namespace=PLATFORM.monitoring_namespace)["spec"]
    alertmanager = one(manifests, "Alertmanager", namespace=PLATFORM.monitoring_namespace)["spec"]
    service = service_manifests(SERVICES[level])
    pairs = [
        ("ServiceMonitor", prometheus, "serviceMonitorSelector", "serviceMonitorNamespaceSelector"),
        ("PrometheusRule", prometheus, "ruleSelector", "ruleNamespaceSelector"),
        ("AlertmanagerConfig", alertmanager, "alertmanagerConfigSelector", "alertmanagerConfigNamespaceSelector"),
    ]
    for kind, spec, selector, namespace_selector in pairs:
        (obj,) = find(service, kind)
        assert label_selector_matches(spec[selector], obj["metadata"]["labels"]), kind
        assert spec[namespace_selector] == {}, f"{kind}: every namespace"
    assert alertmanager["alertmanagerConfigMatcherStrategy"] == {"type": "OnNamespace"}
    for monitor in [*find(manifests, "PodMonitor"), *find(manifests, "PrometheusRule")]:
        selector = "podMonitorSelector" if monitor["kind"] == "PodMonitor" else "ruleSelector"
        assert label_selector_matches(prometheus[selector], monitor["metadata"]["labels"])
    assert prometheus["podMonitorNamespaceSelector"] == {}


def test_prometheus_has_the_istio_certificates_the_service_monitors_scrape_with():
    prometheus = one(platform_manifests(), "Prometheus")["spec"]
    (mount,) = prometheus["volumeMounts"]
    assert mount["mountPath"] == ISTIO_CERTS_DIR
    (volume,) = [v for v in prometheus["volumes"] if v["name"] == mount["name"]]
    annotations = prometheus["podMetadata"]["annotations"]
    proxy_config = yaml.safe_load(annotations["proxy.istio.io/config"])
    (sidecar_mount,) = yaml.safe_load(annotations["sidecar.istio.io/userVolumeMount"])
    assert sidecar_mount["name"] == volume["name"]
    assert sidecar_mount["mountPath"] == proxy_config["proxyMetadata"]["OUTPUT_CERTS"]
    assert prometheus["podMetadata"]["labels"]["sidecar.istio.io/inject"] == "true"
    assert annotations["traffic.sidecar.istio.io/includeInboundPorts"] == ""
    monitor = one(service_manifests(SERVICES["external"]), "ServiceMonitor")
    (endpoint,) = monitor["spec"]["endpoints"]
    for key in ("caFile", "certFile", "keyFile"):
        assert endpoint["tlsConfig"][key].startswith(ISTIO_CERTS_DIR + "/")


def test_every_envoy_is_scraped_for_istios_request_metrics():
    monitor = one(platform_manifests(), "PodMonitor", "envoy-stats")
    assert monitor["spec"]["namespaceSelector"] == {"any": True}
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("http-envoy-prom", "/stats/prometheus")


def release_values(manifests: list, name: str) -> dict:
    """The values of the platform's Helm release ``name`` (its Argo CD Application)."""
    return one(manifests, "Application", name)["spec"]["source"]["helm"]["valuesObject"]


def test_grafana_reads_prometheus_and_loads_the_services_dashboards():
    manifests = platform_manifests()
    sources = one(manifests, "ConfigMap", "grafana-datasources")
    assert sources["metadata"]["labels"][names.LABEL_GRAFANA_DATASOURCE] == "1"
    (prometheus,) = [
        s for s in yaml.safe_load(sources["data"]["datasources.yaml"])["datasources"] if s.get("isDefault")
    ]
    assert prometheus["url"] == f"http://prometheus-operated.{PLATFORM.monitoring_namespace}.svc.cluster.local:9090"
    dashboard = one(service_manifests(SERVICES["external"]), "ConfigMap", "payments-api-dashboard")
    assert dashboard["metadata"]["labels"][names.LABEL_GRAFANA_DASHBOARD] == "1"
    assert names.ANNOTATION_GRAFANA_FOLDER in dashboard["metadata"]["annotations"]
    sidecar = release_values(manifests, "grafana")["sidecar"]
    assert sidecar["datasources"]["label"] == names.LABEL_GRAFANA_DATASOURCE
    assert sidecar["dashboards"]["label"] == names.LABEL_GRAFANA_DASHBOARD
    assert sidecar["dashboards"]["folderAnnotation"] == names.ANNOTATION_GRAFANA_FOLDER
    assert sidecar["dashboards"]["provider"]["foldersFromFilesStructure"] is True


def test_kiali_reads_the_platforms_prometheus_and_leaves_sign_in_to_oauth2_proxy():
    kiali = release_values(platform_manifests(), "kiali")
    assert kiali["auth"] == {"strategy": "anonymous"}
    assert kiali["deployment"]["view_only_mode"] is True
    assert kiali["external_services"]["prometheus"]["url"].startswith("http://prometheus-operated.")
    assert kiali["external_services"]["grafana"]["external_url"] == PLATFORM.grafana_url


# --- tools outside the mesh -------------------------------------------------------------------------------------


def test_oauth2_proxy_signs_sres_in_at_the_portals_idp_without_a_secret_in_the_file():
    config_map = one(platform_manifests(), "ConfigMap", "oauth2-proxy", names.OAUTH2_PROXY_NAMESPACE)
    settings = tomllib.loads(config_map["data"][OAUTH2_PROXY_CONFIG_KEY])
    assert settings["provider"] == "oidc"
    assert settings["oidc_issuer_url"] == PLATFORM.oidc_issuer
    assert settings["allowed_groups"] == [PLATFORM.sre_group]
    assert settings["redirect_url"] == f"{PLATFORM.oauth2_proxy_url}/oauth2/callback"
    assert not {k for k in settings if "secret" in k or k == "client_id"}
    assert config_map["metadata"]["annotations"]["portal.io/credentials-secret"] == names.OAUTH2_PROXY_CREDENTIALS
    # One session for every tool of the internal zone, and the sign-in may send people back to them.
    tool = "kiali." + PLATFORM.internal_zone
    assert any(tool.endswith(domain) for domain in settings["cookie_domains"])
    assert any(tool.endswith(domain) for domain in settings["whitelist_domains"])


def test_oauth2_proxy_is_served_where_the_services_ingresses_send_people():
    manifests = platform_manifests()
    ingress = one(manifests, "Ingress", "oauth2-proxy", names.OAUTH2_PROXY_NAMESPACE)
    (rule,) = ingress["spec"]["rules"]
    assert f"https://{rule['host']}" == PLATFORM.oauth2_proxy_url
    (path,) = rule["http"]["paths"]
    assert path["path"] == "/oauth2"
    (ingress_class,) = find(manifests, "IngressClass")
    assert ingress["spec"]["ingressClassName"] == ingress_class["metadata"]["name"]


def test_the_services_ingress_class_exists():
    tool = service_spec(
        name="kiali-tool", team=TEAM, mesh=False, level="internal", hostnames=("kiali.internal.example.com",)
    )
    (ingress,) = find(service_manifests(tool), "Ingress")
    (ingress_class,) = find(platform_manifests(), "IngressClass")
    assert ingress["spec"]["ingressClassName"] == ingress_class["metadata"]["name"]
    assert ingress_class["spec"]["controller"] == "k8s.io/ingress-nginx"
    nginx = release_values(platform_manifests(), "ingress-nginx")["controller"]
    assert nginx["config"]["use-forwarded-headers"] == "true"
    assert nginx["ingressClassResource"]["enabled"] is False


@pytest.mark.parametrize(
    "value",
    ["plain", 'say "hi"', "back\\slash", "line\nbreak\ttab", "bell\x07", "日本語", ""],
)
def test_the_toml_writer_round_trips_through_a_toml_parser(value):
    pairs = [("text", value), ("flag", True), ("off", False), ("count", 3), ("items", [value, "x"])]
    text = to_toml(pairs, "a header\n\nover lines")
    assert tomllib.loads(text) == dict(pairs)
    assert text.startswith("# a header\n#\n# over lines\n")
    assert text == to_toml(pairs, "a header\n\nover lines")


@pytest.mark.parametrize(
    ("namespace", "container"),
    [("istio-ingress", "istio-proxy"), ("istio-system", "discovery"), ("monitoring", "prometheus")],
    ids=["ingress-gateway", "istiod", "prometheus"],
)
def test_the_platforms_own_logs_reach_their_component_group(fluent_bit, namespace, container):
    labels = {"kubernetes.io/metadata.name": namespace}
    (delivered,) = ship(fluent_bit, namespace, container, labels, APP_LINE)
    _, group, stream = delivered
    assert group == f"/eks/{PLATFORM.cluster_name}/platform/{namespace}"
    assert stream == f"pod-7d4b9c-x2x7q.{container}"
    groups = {r.name: r.body for r in platform_log_groups(PLATFORM)}
    assert groups[group]["retention_days"] == PLATFORM.platform_log_retention_days


def test_fluent_bits_own_logs_are_never_shipped(fluent_bit):
    assert names.LOGGING_NAMESPACE not in {g.name.rsplit("/", 1)[1] for g in platform_log_groups(PLATFORM)}
