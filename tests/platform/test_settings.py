"""What the platform layer is rendered from: the platform settings row, the portal's own sign-in settings, and what
the platform's AWS pieces reported to the inventory."""

import tomllib

import yaml
from rest_framework.test import APIClient

from provisioning import names
from provisioning.aws.kinds import LOAD_BALANCER, TARGET_GROUP
from provisioning.desired.platform import render_platform
from provisioning.desired.platform.tools import OAUTH2_PROXY_CONFIG_KEY
from provisioning.models import ManagedResource
from provisioning.resources import aws
from provisioning.scopes import PLATFORM_KEY
from provisioning.snapshot import platform_snapshot


def config(snapshot, name: str, key: str) -> str:
    (found,) = [r.body for r in render_platform(snapshot) if r.kind == "ConfigMap" and r.name == name]
    return found["data"][key]


def test_the_identity_provider_and_sre_group_come_from_the_portals_settings(platform, settings):
    settings.OIDC_ISSUER = "https://sso.example.com/realms/corp"
    settings.OIDC_GROUPS_CLAIM = "roles"
    settings.PORTAL_SRE_GROUP = "sre-oncall"
    snapshot = platform_snapshot(platform)
    assert (snapshot.oidc_issuer, snapshot.oidc_groups_claim, snapshot.sre_group) == (
        "https://sso.example.com/realms/corp",
        "roles",
        "sre-oncall",
    )
    proxy = tomllib.loads(config(snapshot, "oauth2-proxy", OAUTH2_PROXY_CONFIG_KEY))
    assert proxy["oidc_issuer_url"] == "https://sso.example.com/realms/corp"
    assert proxy["oidc_groups_claim"] == "roles"
    assert proxy["allowed_groups"] == ["sre-oncall"]


def test_urls_zones_and_region_come_from_the_platform_settings_and_arns_from_the_inventory(platform):
    platform.grafana_url = "https://grafana.tools.example.com"
    platform.oauth2_proxy_url = "https://sign-in.corp.example.net"
    platform.internal_zone = "corp.example.net"
    platform.region = "eu-west-1"
    platform.cluster_name = "prod"
    platform.save()
    arn = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/portal-internal-gw-prod/1"
    target_group = aws(TARGET_GROUP, names.target_group_name("prod", "internal"), {}, namespace="internal")
    ManagedResource.objects.create(
        scope=PLATFORM_KEY,
        key=target_group.key,
        provider=target_group.provider,
        kind=target_group.kind,
        namespace=target_group.namespace,
        name=target_group.name,
        external_id=arn,
        outputs={"arn": arn},
        applied_digest=target_group.digest,
    )
    snapshot = platform_snapshot(platform)
    assert snapshot.internal_target_group_arn == arn and snapshot.external_target_group_arn == ""
    resources = render_platform(snapshot)
    (kiali_release,) = [r.body for r in resources if r.kind == "Application" and r.name == "kiali"]
    kiali = kiali_release["spec"]["source"]["helm"]["valuesObject"]
    assert kiali["external_services"]["grafana"]["external_url"] == "https://grafana.tools.example.com"
    (binding,) = [r.body for r in resources if r.kind == "TargetGroupBinding"]
    assert binding["spec"]["targetGroupARN"] == arn
    (certificate,) = [r.body for r in resources if r.name == names.gateway_tls_secret_name("internal")]
    assert certificate["spec"]["dnsNames"] == ["*.corp.example.net"]
    (ingress,) = [r.body for r in resources if r.kind == "Ingress" and r.name == names.OAUTH2_PROXY_SERVICE]
    assert ingress["spec"]["rules"][0]["host"] == "sign-in.corp.example.net"
    (grafana,) = [r.body for r in resources if r.kind == "Ingress" and r.name == "grafana-console"]
    assert [rule["host"] for rule in grafana["spec"]["rules"]] == [
        "grafana.corp.example.net",
        "grafana.tools.example.com",
    ]
    fluent_bit = yaml.safe_load(config(snapshot, "fluent-bit", "fluent-bit.yaml"))
    services, platform_components = fluent_bit["pipeline"]["outputs"]
    assert (services["region"], services["log_group_template"]) == ("eu-west-1", "/eks/prod/$TAG[1]/$TAG[2]")
    assert platform_components["log_group_template"] == "/eks/prod/platform/$TAG[1]"
    collector = yaml.safe_load(config(snapshot, "opentelemetry-collector", "relay"))
    assert collector["exporters"]["awsxray"]["region"] == "eu-west-1"


def test_the_settings_api_shows_the_outputs_read_only_and_keeps_its_fields(platform, django_user_model):
    sre = django_user_model.objects.create(username="sre", is_sre=True)
    client = APIClient()
    client.force_authenticate(sre)
    arn = "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:loadbalancer/app/portal-external-sandbox/1"
    alb = aws(LOAD_BALANCER, names.alb_name("sandbox", "external"), {}, namespace="external")
    ManagedResource.objects.create(
        scope=PLATFORM_KEY,
        key=alb.key,
        provider=alb.provider,
        kind=alb.kind,
        namespace=alb.namespace,
        name=alb.name,
        outputs={"arn": arn, "dns_name": "portal-external-sandbox-1.elb.example", "canonical_hosted_zone_id": "Z1"},
        applied_digest=alb.digest,
    )
    data = client.get("/api/v1/platform/settings/").json()
    assert data["outputs"]["external_alb_arn"] == arn and data["outputs"]["aws_account_id"] == "123456789012"
    assert data["outputs"]["internal_alb_arn"] == ""
    assert "external_alb_arn" not in data and data["corp_cidrs"] == ["203.0.113.0/24"]

    changed = client.patch(
        "/api/v1/platform/settings/",
        {"waf_rate_limit": 500, "node_security_group_id": "sg-0123", "outputs": {"external_alb_arn": "x"}},
        format="json",
    )
    assert changed.status_code == 200 and changed.json()["outputs"]["external_alb_arn"] == arn
    platform.refresh_from_db()
    assert (platform.waf_rate_limit, platform.node_security_group_id) == (500, "sg-0123")

    refused = client.patch("/api/v1/platform/settings/", {"corp_cidrs": ["2001:db8::/32"]}, format="json")
    assert refused.status_code == 400 and "IPv6" in refused.json()["corp_cidrs"][0]
