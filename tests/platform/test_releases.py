"""The platform's components as Helm releases of Argo CD Applications: strictly valid, pinned, consistent with the
objects the layer renders, and a changed chart value planned as that value's own field change."""

import dataclasses

from provisioning import names
from provisioning.desired.platform import logs, tracing
from provisioning.desired.platform.ingress import nginx_controller_host
from provisioning.desired.platform.releases import CONFIG_DIGEST_ANNOTATION, digest
from provisioning.diff import declared_diff
from provisioning.preflight import SchemaValidator

from .samples import CRDS, PLATFORM, find, one, platform_manifests


def applications(platform=PLATFORM) -> dict[str, dict]:
    return {m["metadata"]["name"]: m for m in find(platform_manifests(platform), "Application")}


def values(name: str, platform=PLATFORM) -> dict:
    return applications(platform)[name]["spec"]["source"]["helm"]["valuesObject"]


def test_every_component_is_a_release_pinned_to_a_chart_version_and_strictly_valid():
    validator = SchemaValidator.from_crd_dir(CRDS)
    apps = applications()
    assert set(apps) == {
        "fluent-bit",
        "opentelemetry-collector",
        "kube-prometheus-stack",
        "kube-state-metrics",
        "prometheus-node-exporter",
        "grafana",
        "kiali",
        "cert-manager",
        "ingress-nginx",
        "oauth2-proxy",
        "aws-load-balancer-controller",
    }
    for app in apps.values():
        assert validator.has_schema(app["apiVersion"], app["kind"])
        source = app["spec"]["source"]
        assert source["repoURL"].startswith("https://") and source["chart"]
        assert source["targetRevision"].lstrip("v")[0].isdigit(), "a pinned version, never a range or a branch"
        assert source["helm"]["releaseName"] == app["metadata"]["name"]
        assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert validator.validate_all(list(apps.values())) == []
    broken = dict(apps["grafana"], spec={**apps["grafana"]["spec"], "sourcee": {}})
    assert validator.validate_all([broken]), "strict: an unknown field is refused"


def test_values_name_the_services_and_config_maps_the_layer_renders():
    manifests = platform_manifests()
    collector = values("opentelemetry-collector")
    namespace = applications()["opentelemetry-collector"]["spec"]["destination"]["namespace"]
    service = f"{collector['fullnameOverride']}.{namespace}"
    assert PLATFORM.otel_collector_endpoint.startswith(f"{service}.svc.cluster.local:")
    one(manifests, "ConfigMap", collector["configMap"]["existingName"], names.OBSERVABILITY_NAMESPACE)
    assert tracing.CONFIG_KEY == "relay", "the chart reads the configuration from this key"

    fluent_bit = values("fluent-bit")
    config_map = one(manifests, "ConfigMap", fluent_bit["existingConfigMap"], names.LOGGING_NAMESPACE)
    assert f"--config=/fluent-bit/etc/conf/{logs.CONFIG_KEY}" in fluent_bit["args"]
    assert fluent_bit["podAnnotations"][CONFIG_DIGEST_ANNOTATION] == digest(config_map["data"][logs.CONFIG_KEY])
    role = fluent_bit["serviceAccount"]["annotations"][names.IRSA_ANNOTATION]
    assert role == f"arn:aws:iam::{PLATFORM.aws_account_id}:role/{PLATFORM.cluster_name}-fluent-bit"

    nginx = values("ingress-nginx")
    assert nginx_controller_host().startswith(f"{nginx['fullnameOverride']}-controller.")
    proxy = values("oauth2-proxy")
    one(manifests, "ConfigMap", proxy["config"]["existingConfig"], names.OAUTH2_PROXY_NAMESPACE)
    assert proxy["service"]["portNumber"] == names.OAUTH2_PROXY_SERVICE_PORT
    kiali = values("kiali")
    assert kiali["external_services"]["grafana"]["internal_url"].startswith(
        f"http://{values('grafana')['fullnameOverride']}."
    )
    # No object is rendered twice: what a chart renders from these values is not in the layer.
    assert not find(manifests, "ConfigMap", "kiali") and not find(manifests, "ConfigMap", "ingress-nginx-controller")


def test_before_the_account_is_known_no_role_is_annotated():
    fresh = dataclasses.replace(PLATFORM, aws_account_id="")
    assert "annotations" not in values("fluent-bit", fresh)["serviceAccount"]


def test_a_changed_chart_value_is_planned_as_that_values_own_field():
    before = applications()["kiali"]
    moved = dataclasses.replace(PLATFORM, grafana_url="https://grafana.tools.example.com")
    after = applications(moved)["kiali"]
    (change,) = declared_diff(after, before)
    assert change.path == "spec.source.helm.valuesObject.external_services.grafana.external_url"
    assert (change.old, change.new) == (PLATFORM.grafana_url, "https://grafana.tools.example.com")
    # A configuration file the chart reads from the layer's ConfigMap rolls the pods: its digest changes.
    regional = dataclasses.replace(PLATFORM, region="eu-west-1")
    paths = {c.path for c in declared_diff(applications(regional)["fluent-bit"], applications()["fluent-bit"])}
    assert paths == {f"spec.source.helm.valuesObject.podAnnotations.{CONFIG_DIGEST_ANNOTATION}"}
