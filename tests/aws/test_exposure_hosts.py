"""Every hostname an object serves resolves to the ALB that serves it and has a certificate on its listener: the
services' hosts, OAuth2 Proxy's sign-in host and the platform UIs (``names.platform_hosts``), in zones that are
found from the public root (the internal zone delegated from the external one). And the WAF and the ALB groups let
in exactly whom they should."""

from urllib.parse import urlsplit

import pytest
import yaml
from rest_framework.exceptions import ValidationError

from portal.catalog.models import PlatformSettings
from provisioning import names
from provisioning.aws.kinds import PLATFORM_CERTIFICATE, PLATFORM_RECORD
from provisioning.choices import ChangeAction, ResourceStatus, RunStatus
from provisioning.models import ManagedResource
from provisioning.operations import bootstrap_platform, drift_check_platform, plan_platform
from provisioning.scopes import PLATFORM_KEY
from provisioning.snapshot import platform_snapshot
from provisioning.spec import PlatformSpec
from tests.engine.conftest import run_task

from .conftest import apply, expose, zone_records

CORP = "203.0.113.0/24"
NAT = ["198.51.100.7/32", "198.51.100.8/32"]
UI_HOSTS = [
    f"{tool}.internal.example.com" for tool in ("alertmanager", "grafana", "kiali", "oauth2-proxy", "prometheus")
]
SIGN_IN = "nginx.ingress.kubernetes.io/auth-signin"


@pytest.fixture
def with_nat(sandbox):
    PlatformSettings.objects.update(nat_egress_cidrs=NAT)
    return sandbox


@pytest.fixture
def converged(with_nat):
    bootstrap_platform(wait_seconds=10)
    return platform_snapshot()


def level_of_gateway(ref: str) -> str:
    return next((level for level in ("external", "internal") if ref.endswith(names.gateway_name(level))), "")


def served_hosts(repo) -> set[tuple[str, str]]:
    """(level, host) for every host a Gateway-bound VirtualService or an Ingress in the gitops repository serves,
    and every sign-in host an Ingress sends people to (Ingresses are behind the internal gateway). Wildcards (the
    route on to Nginx) and in-cluster names are no DNS records of their own."""
    served = set()
    for path in repo.path.glob("*/*.yaml"):
        manifest = yaml.safe_load(path.read_text())
        spec = manifest.get("spec") or {}
        if manifest["kind"] == "VirtualService":
            levels = {level for ref in spec.get("gateways", []) if (level := level_of_gateway(ref))}
            served |= {(level, host) for level in levels for host in spec["hosts"]}
        elif manifest["kind"] == "Ingress":
            served |= {("internal", rule["host"]) for rule in spec["rules"]}
            if sign_in := (manifest["metadata"].get("annotations") or {}).get(SIGN_IN):
                served.add(("internal", urlsplit(sign_in).hostname))
    in_cluster = f".svc.{names.CLUSTER_DOMAIN}"
    return {(level, host) for level, host in served if not host.startswith("*") and not host.endswith(in_cluster)}


def listener_domains(elbv2, acm, listener_arn: str) -> dict[str, str]:
    """Every name (domain and alternative names) a listener has an issued certificate for -> the certificate."""
    found = {}
    for item in elbv2.describe_listener_certificates(ListenerArn=listener_arn)["Certificates"]:
        cert = acm.describe_certificate(CertificateArn=item["CertificateArn"])["Certificate"]
        if cert["Status"] == "ISSUED":
            for name in {cert["DomainName"], *cert.get("SubjectAlternativeNames", [])}:
                found[name] = cert["CertificateArn"]
    return found


def covered(host: str, domains: dict[str, str]) -> bool:
    """A certificate for the host itself, or a wildcard one level up."""
    return host in domains or f"*.{host.split('.', 1)[1]}" in domains


def https_sources(ec2, group_id: str) -> set[str]:
    (group,) = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    return {
        r.get("CidrIp") or r.get("CidrIpv6")
        for p in group["IpPermissions"]
        if p.get("FromPort") == 443
        for r in (*p.get("IpRanges", []), *p.get("Ipv6Ranges", []))
    }


def test_the_platform_hosts_are_one_list_per_level():
    assert names.platform_hosts(PlatformSpec()) == {"internal": UI_HOSTS, "external": []}
    elsewhere = PlatformSpec(
        grafana_url="https://grafana.ops.example.net", oauth2_proxy_url="https://sso.internal.example.com"
    )
    # Grafana run elsewhere is not served here (its UI host still is); the sign-in host is wherever the URL says.
    assert names.platform_hosts(elsewhere)["internal"] == [
        "alertmanager.internal.example.com",
        "grafana.internal.example.com",
        "kiali.internal.example.com",
        "prometheus.internal.example.com",
        "sso.internal.example.com",
    ]


def test_each_platform_host_resolves_to_the_internal_alb_with_its_certificate_on_its_listener(
    converged, sandbox_client
):
    platform = converged
    route53, elbv2, acm = sandbox_client("route53"), sandbox_client("elbv2"), sandbox_client("acm")
    internal = zone_records(route53, platform.internal_zone_id)
    domains = listener_domains(elbv2, acm, platform.internal_listener_arn)
    for host in UI_HOSTS:
        alias = internal[(host, "A")]["AliasTarget"]
        assert alias["DNSName"].rstrip(".").lower() == platform.internal_alb_dns_name, host
        assert alias["HostedZoneId"] == platform.internal_alb_zone_id
        assert internal[(f"_portal-owner.{host}", "TXT")]["ResourceRecords"][0]["Value"] == (
            '"portal:managed=true,portal:owner=platform"'
        )
        assert host in domains, host
    assert not [k for k in zone_records(route53, platform.external_zone_id) if k[1] == "A"]
    assert not set(UI_HOSTS) & set(listener_domains(elbv2, acm, platform.external_listener_arn))

    recorded = {
        r.name: r.outputs for r in ManagedResource.objects.filter(scope=PLATFORM_KEY, kind=PLATFORM_CERTIFICATE)
    }
    assert set(recorded) == set(UI_HOSTS)
    grafana = "grafana.internal.example.com"
    assert recorded[grafana] == {"arn": domains[grafana], "listener_arn": platform.internal_listener_arn}
    (record,) = ManagedResource.objects.filter(scope=PLATFORM_KEY, kind=PLATFORM_RECORD, name=grafana)
    assert record.outputs == {"zone_id": platform.internal_zone_id, "alias_dns_name": platform.internal_alb_dns_name}


def test_the_internal_zone_is_public_and_delegated_from_the_external_one(converged, sandbox_client):
    route53 = sandbox_client("route53")
    internal = route53.get_hosted_zone(Id=converged.internal_zone_id)
    assert not internal["HostedZone"]["Config"]["PrivateZone"]
    servers = sorted(s.rstrip(".") for s in internal["DelegationSet"]["NameServers"])
    delegation = zone_records(route53, converged.external_zone_id)[("internal.example.com", "NS")]
    assert sorted(r["Value"].rstrip(".") for r in delegation["ResourceRecords"]) == servers
    (row,) = ManagedResource.objects.filter(scope=PLATFORM_KEY, kind="route53.Delegation")
    assert row.outputs == {"zone_id": converged.external_zone_id, "name_servers": " ".join(servers)}


def test_a_delegation_changed_by_hand_is_drift_and_the_next_apply_repairs_it(converged, sandbox_client, aws_calls):
    route53 = sandbox_client("route53")
    wrong = {"Name": "internal.example.com", "Type": "NS", "TTL": 300, "ResourceRecords": [{"Value": "ns.other.net"}]}
    route53.change_resource_record_sets(
        HostedZoneId=converged.external_zone_id,
        ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": wrong}]},
    )
    run = run_task(drift_check_platform())
    assert run.status == RunStatus.SUCCEEDED and run.drift_found
    (drifted,) = ManagedResource.objects.filter(scope=PLATFORM_KEY, status=ResourceStatus.DRIFTED)
    assert drifted.kind == "route53.Delegation"
    assert {d["path"]: (d["old"], d["new"]) for d in drifted.drift} == {
        "delegates_to": (["ns.other.net"], "internal.example.com"),
        "ttl": (300, 172800),
    }
    aws_calls.restart()
    bootstrap_platform()
    assert aws_calls.writes == ["route53:ChangeResourceRecordSets"]
    assert not run_task(drift_check_platform()).drift_found


def test_a_platform_host_record_or_certificate_removed_by_hand_comes_back(converged, sandbox_client):
    route53, elbv2 = sandbox_client("route53"), sandbox_client("elbv2")
    host = "grafana.internal.example.com"
    record = zone_records(route53, converged.internal_zone_id)[(host, "A")]
    route53.change_resource_record_sets(
        HostedZoneId=converged.internal_zone_id,
        ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": record}]},
    )
    cert = listener_domains(elbv2, sandbox_client("acm"), converged.internal_listener_arn)["kiali.internal.example.com"]
    elbv2.remove_listener_certificates(
        ListenerArn=converged.internal_listener_arn, Certificates=[{"CertificateArn": cert}]
    )

    changes = {
        f"{c['kind']} {c['name']}": c
        for c in plan_platform().changes
        if c["provider"] == "aws" and c["action"] != ChangeAction.UNCHANGED
    }
    assert {key: c["action"] for key, c in changes.items()} == {
        f"route53.PlatformRecord {host}": "create",
        "acm.PlatformCertificate kiali.internal.example.com": "update",
    }
    assert changes["acm.PlatformCertificate kiali.internal.example.com"]["diff"] == [
        {"path": "listener", "old": None, "new": {"load_balancer": "portal-internal-sandbox", "port": 443}}
    ]
    bootstrap_platform()
    assert (host, "A") in zone_records(route53, converged.internal_zone_id)
    assert "kiali.internal.example.com" in listener_domains(
        elbv2, sandbox_client("acm"), converged.internal_listener_arn
    )


def test_the_external_waf_blocks_harmful_addresses_and_the_internal_one_admits_corp_and_nat(converged, sandbox_client):
    wafv2 = sandbox_client("wafv2")
    acls = {a["Name"]: a for a in wafv2.list_web_acls(Scope="REGIONAL")["WebACLs"]}
    external = wafv2.get_web_acl(
        Name="portal-external-sandbox", Scope="REGIONAL", Id=acls["portal-external-sandbox"]["Id"]
    )
    groups = [
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for r in sorted(external["WebACL"]["Rules"], key=lambda r: r["Priority"])
        if "ManagedRuleGroupStatement" in r["Statement"]
    ]
    assert groups == [
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesSQLiRuleSet",
        "AWSManagedRulesCommonRuleSet",
    ]

    name, ip_set_id = converged.corp_ip_set_arn.rsplit("/", 2)[-2:]
    addresses = wafv2.get_ip_set(Name=name, Scope="REGIONAL", Id=ip_set_id)["IPSet"]["Addresses"]
    assert sorted(addresses) == sorted([CORP, *NAT])

    elbv2, ec2 = sandbox_client("elbv2"), sandbox_client("ec2")
    (internal_alb,) = elbv2.describe_load_balancers(LoadBalancerArns=[converged.internal_alb_arn])["LoadBalancers"]
    assert https_sources(ec2, internal_alb["SecurityGroups"][0]) == {CORP, *NAT}


def test_changed_nat_egress_cidrs_are_in_the_plan_and_update_the_ip_set_and_the_internal_group(
    converged, sandbox_client, aws_calls
):
    PlatformSettings.objects.update(nat_egress_cidrs=[NAT[0]])
    changes = {
        f"{c['kind']} {c['name']}": c
        for c in plan_platform().changes
        if c["provider"] == "aws" and c["action"] != ChangeAction.UNCHANGED
    }
    assert set(changes) == {"wafv2.IPSet portal-corp-sandbox", "ec2.SecurityGroup portal-internal-alb-sandbox"}
    assert changes["wafv2.IPSet portal-corp-sandbox"]["diff"] == [
        {"path": "addresses", "old": sorted([CORP, *NAT]), "new": sorted([CORP, NAT[0]])}
    ]
    aws_calls.restart()
    bootstrap_platform()
    assert sorted(aws_calls.writes) == ["ec2:RevokeSecurityGroupIngress", "wafv2:UpdateIPSet"]


def test_a_service_cannot_take_a_platform_host(with_nat, team):
    with pytest.raises(ValidationError, match="platform itself serves"):
        expose("graphs", "internal", ["grafana.internal.example.com"])


def test_an_external_and_an_internal_service_are_reachable_by_every_host_they_serve(
    converged, team, sre, sandbox_client, gitops_repo
):
    """Both services applied: every host their VirtualService and Ingress serve, the sign-in host their Ingress
    sends people to, and the platform's own, has its alias record at the ALB of the level that serves it and an
    issued certificate on that ALB's HTTPS listener; each ALB admits 443 from whom it should."""
    shop = expose("storefront", "external", ["shop.example.com", "www.shop.example.com"])
    wiki = expose("wiki", "internal", ["wiki.internal.example.com"], mesh=False)
    for service in (shop, wiki):
        run = apply(service, sre)
        assert run.status == RunStatus.SUCCEEDED, run.error

    served = served_hosts(gitops_repo)
    assert {("external", "shop.example.com"), ("external", "www.shop.example.com")} <= served
    assert {("internal", "wiki.internal.example.com"), ("internal", "oauth2-proxy.internal.example.com")} <= served

    platform = platform_snapshot()
    route53, elbv2, acm, ec2 = (sandbox_client(n) for n in ("route53", "elbv2", "acm", "ec2"))
    for level in ("external", "internal"):
        records = zone_records(route53, platform.zone_id(level))
        domains = listener_domains(elbv2, acm, platform.listener_arn(level))
        for host in sorted(host for where, host in served if where == level):
            assert host.endswith(f".{platform.zone(level)}"), host
            alias = records[(host, "A")]["AliasTarget"]
            assert alias["DNSName"].rstrip(".").lower() == platform.alb_dns_name(level), host
            assert covered(host, domains), f"{host}: no certificate on the {level} listener"

    albs = elbv2.describe_load_balancers(LoadBalancerArns=[platform.external_alb_arn, platform.internal_alb_arn])
    groups = {alb["Scheme"]: alb["SecurityGroups"][0] for alb in albs["LoadBalancers"]}
    assert https_sources(ec2, groups["internet-facing"]) == {"0.0.0.0/0", "::/0"}
    assert https_sources(ec2, groups["internal"]) == {CORP, *NAT}
