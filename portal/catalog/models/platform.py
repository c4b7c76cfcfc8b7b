import ipaddress
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from portal.core.crypto import EncryptedTextField, mask
from provisioning.spec import PlatformSpec

from ..choices import KubernetesTarget, LogRetention
from ..validators import (
    validate_cidr,
    validate_dns1123_label,
    validate_hostname,
    validate_link_url,
    validate_webhook_url,
)
from .team import Team


def _default_corp_cidrs() -> list[str]:
    return list(PlatformSpec.corp_cidrs)


def _ipv4_cidr_problems(cidrs: list) -> list[str]:
    """Why these are not IPv4 CIDR blocks ([] when they are): the WAF IP set that holds them is IPv4."""
    problems = []
    for cidr in cidrs:
        try:
            validate_cidr(str(cidr))
        except ValidationError as exc:
            problems.extend(exc.messages)
            continue
        if ipaddress.ip_network(str(cidr)).version != 4:
            problems.append(f"{cidr!r} is IPv6: the WAF IP set of the allowed networks holds IPv4 blocks only.")
    return problems


class PlatformSettings(models.Model):
    """The platform's one row of settings (SRE-only): cluster, zones, networks, corp CIDRs, the WAF rate limit.

    What AWS assigns to the shared pieces (zone ids, ALB ARNs and DNS names, ...) is not kept here: provisioning
    records it with the pieces in its inventory, and reads it back with the settings (``provisioning.snapshot``).
    """

    cluster_name = models.CharField(
        max_length=100, default=PlatformSpec.cluster_name, validators=[validate_dns1123_label]
    )
    region = models.CharField(max_length=32, default=PlatformSpec.region)
    kubernetes_target = models.CharField(
        max_length=16, choices=KubernetesTarget.choices, default=PlatformSpec.kubernetes_target
    )

    internal_zone = models.CharField(max_length=253, default=PlatformSpec.internal_zone, validators=[validate_hostname])
    external_zone = models.CharField(max_length=253, default=PlatformSpec.external_zone, validators=[validate_hostname])
    corp_cidrs = models.JSONField(
        default=_default_corp_cidrs,
        help_text="IPv4 CIDRs of the corporate network: the internal ALB's security group and WAF admit only these "
        "(and the NAT egress CIDRs).",
    )
    nat_egress_cidrs = models.JSONField(
        default=list,
        blank=True,
        help_text="IPv4 CIDRs of the NAT gateways' egress addresses (e.g. 198.51.100.7/32): tools outside reach the "
        "platform from them, so the internal ALB's security group and WAF admit them beside the corp CIDRs.",
    )
    create_load_balancers = models.BooleanField(
        default=PlatformSpec.create_load_balancers,
        help_text="The platform may create its ALBs, their groups, listeners and target groups and the WAF pieces "
        "when they are not found; off, it only adopts them (same names, the platform's tags).",
    )
    vpc_id = models.CharField(max_length=64, blank=True, help_text="The VPC of the ALBs and the cluster's nodes.")
    subnet_ids = models.JSONField(default=list, blank=True, help_text="At least two subnets for the ALBs.")
    node_security_group_id = models.CharField(
        max_length=64,
        blank=True,
        help_text="The security group of the cluster's nodes: the platform admits each ALB's group on the ingress "
        "gateway's NodePort there.",
    )
    waf_rate_limit = models.PositiveIntegerField(
        default=PlatformSpec.waf_rate_limit,
        validators=[MinValueValidator(10)],
        help_text="Requests per client IP in five minutes the external WAF lets through.",
    )

    ingress_namespace = models.CharField(
        max_length=63, default=PlatformSpec.ingress_namespace, validators=[validate_dns1123_label]
    )
    istio_root_namespace = models.CharField(
        max_length=63, default=PlatformSpec.istio_root_namespace, validators=[validate_dns1123_label]
    )
    monitoring_namespace = models.CharField(
        max_length=63, default=PlatformSpec.monitoring_namespace, validators=[validate_dns1123_label]
    )
    otel_provider_name = models.CharField(max_length=63, default=PlatformSpec.otel_provider_name)
    otel_collector_endpoint = models.CharField(max_length=255, default=PlatformSpec.otel_collector_endpoint)
    oauth2_proxy_url = models.CharField(
        max_length=255,
        default=PlatformSpec.oauth2_proxy_url,
        help_text="Where Nginx Ingress sends tools outside the mesh to sign in.",
    )
    grafana_url = models.CharField(
        max_length=255,
        default=PlatformSpec.grafana_url,
        help_text="Where people open Grafana; Kiali links its dashboards there.",
    )
    victoriametrics_write_url = models.CharField(
        max_length=255,
        blank=True,
        help_text="VictoriaMetrics' remote-write endpoint (e.g. http://vminsert.victoriametrics:8480/insert/0/"
        "prometheus/api/v1/write): Prometheus keeps a few days, VictoriaMetrics the long term. Empty: off.",
    )
    victoriametrics_query_url = models.CharField(
        max_length=255,
        blank=True,
        help_text="VictoriaMetrics' Prometheus-compatible query endpoint, Grafana's long-term data source.",
    )
    slack_webhook_url = EncryptedTextField(
        blank=True,
        help_text="Slack incoming-webhook (or API) URL Alertmanager posts to. Stored encrypted; shown masked.",
    )
    sre_team = models.CharField(
        max_length=63,
        blank=True,
        validators=[validate_dns1123_label],
        help_text="The slug of the team that runs the platform (a team like any other): the ALBs' and WAF's alarms "
        "notify its incident topic. Empty: the platform raises no AWS alarms.",
    )
    control_plane_log_retention_days = models.PositiveIntegerField(
        choices=LogRetention.choices, default=PlatformSpec.control_plane_log_retention_days
    )
    platform_log_retention_days = models.PositiveIntegerField(
        choices=LogRetention.choices,
        default=PlatformSpec.platform_log_retention_days,
        help_text="Retention of the platform components' log groups (/eks/<cluster>/platform/<namespace>).",
    )
    reserved_hostnames = models.JSONField(
        default=list,
        blank=True,
        help_text="Hostnames only SREs may give a service, besides the zones' apexes and the hosts the platform "
        "serves itself (OAuth2 Proxy, Grafana, the consoles), which are always reserved: e.g. the portal's own.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "platform settings"
        verbose_name_plural = "platform settings"

    def __str__(self) -> str:
        return f"Platform {self.cluster_name} ({self.region})"

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    def clean(self) -> None:
        errors = {}
        if not isinstance(self.corp_cidrs, list) or not self.corp_cidrs:
            errors["corp_cidrs"] = ["List at least one CIDR block of the corporate network."]
        elif problems := _ipv4_cidr_problems(self.corp_cidrs):
            errors["corp_cidrs"] = problems
        if not isinstance(self.nat_egress_cidrs, list):
            errors["nat_egress_cidrs"] = ['Give a list of CIDR blocks (e.g. ["198.51.100.7/32"]).']
        elif problems := _ipv4_cidr_problems(self.nat_egress_cidrs):
            errors["nat_egress_cidrs"] = problems
        if not isinstance(self.reserved_hostnames, list):
            errors["reserved_hostnames"] = ["A list of hostnames."]
        else:
            for name in self.reserved_hostnames:
                try:
                    validate_hostname(str(name))
                except ValidationError as exc:
                    errors.setdefault("reserved_hostnames", []).extend(exc.messages)
        if self.sre_team and not Team.objects.filter(slug=self.sre_team).exists():
            errors["sre_team"] = [f"No team {self.sre_team!r}: name the slug of the team that runs the platform."]
        if self.internal_zone == self.external_zone:
            errors["internal_zone"] = ["The internal and external zones must differ."]
        # Here rather than as field validators: the API declares the write-only webhook field itself, so clean() is
        # what it and the admin's form have in common.
        urls = [("grafana_url", validate_link_url), ("oauth2_proxy_url", validate_link_url)]
        urls += [
            (f, validate_link_url)
            for f in ("victoriametrics_write_url", "victoriametrics_query_url")
            if getattr(self, f)
        ]
        if self.slack_webhook_url:
            urls.append(("slack_webhook_url", validate_webhook_url))
        for field, validate in urls:
            try:
                validate(getattr(self, field))
            except ValidationError as exc:
                errors[field] = exc.messages
        sign_in = (urlsplit(self.oauth2_proxy_url).hostname or "").lower()
        if "oauth2_proxy_url" not in errors and not sign_in.endswith(f".{self.internal_zone}"):
            errors["oauth2_proxy_url"] = [
                f"The sign-in host {sign_in!r} must lie under the internal zone {self.internal_zone}: the platform "
                "serves it on the internal ALB, with its DNS record and certificate."
            ]
        if errors:
            raise ValidationError(errors)

    @classmethod
    def load(cls) -> "PlatformSettings":
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj

    @property
    def slack_webhook_masked(self) -> str:
        return mask(self.slack_webhook_url)

    @property
    def zones(self) -> dict[str, str]:
        """Exposure level -> DNS zone."""
        return {"internal": self.internal_zone, "external": self.external_zone}
