from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from portal.core.crypto import EncryptedTextField, mask
from provisioning.spec import PlatformSpec

from ..choices import KubernetesTarget, LogRetention
from ..validators import validate_cidr, validate_dns1123_label, validate_hostname


def _default_corp_cidrs() -> list[str]:
    return list(PlatformSpec.corp_cidrs)


class PlatformSettings(models.Model):
    """The platform's one row of settings (SRE-only): cluster, zones, load balancers, networks."""

    cluster_name = models.CharField(
        max_length=100, default=PlatformSpec.cluster_name, validators=[validate_dns1123_label]
    )
    region = models.CharField(max_length=32, default=PlatformSpec.region)
    kubernetes_target = models.CharField(
        max_length=16, choices=KubernetesTarget.choices, default=PlatformSpec.kubernetes_target
    )

    internal_zone = models.CharField(max_length=253, default=PlatformSpec.internal_zone, validators=[validate_hostname])
    internal_zone_id = models.CharField(max_length=64, blank=True)
    external_zone = models.CharField(max_length=253, default=PlatformSpec.external_zone, validators=[validate_hostname])
    external_zone_id = models.CharField(max_length=64, blank=True)
    corp_cidrs = models.JSONField(default=_default_corp_cidrs, help_text="CIDRs the internal WAF allows.")
    create_load_balancers = models.BooleanField(
        default=True, help_text="Bootstrap creates the ALBs and WAF ACLs when they are not found."
    )
    vpc_id = models.CharField(max_length=64, blank=True)
    subnet_ids = models.JSONField(default=list, blank=True)

    # Filled in by bootstrap (adopted or created).
    external_alb_arn = models.CharField(max_length=2048, blank=True)
    external_alb_dns_name = models.CharField(max_length=255, blank=True)
    external_alb_zone_id = models.CharField(max_length=64, blank=True)
    external_listener_arn = models.CharField(max_length=2048, blank=True)
    external_web_acl_arn = models.CharField(max_length=2048, blank=True)
    internal_alb_arn = models.CharField(max_length=2048, blank=True)
    internal_alb_dns_name = models.CharField(max_length=255, blank=True)
    internal_alb_zone_id = models.CharField(max_length=64, blank=True)
    internal_listener_arn = models.CharField(max_length=2048, blank=True)
    internal_web_acl_arn = models.CharField(max_length=2048, blank=True)
    corp_ip_set_arn = models.CharField(max_length=2048, blank=True)
    external_target_group_arn = models.CharField(max_length=2048, blank=True)
    internal_target_group_arn = models.CharField(max_length=2048, blank=True)
    aws_account_id = models.CharField(max_length=12, blank=True, help_text="From STS GetCallerIdentity.")
    waf_rate_limit = models.PositiveIntegerField(
        default=2000,
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
    slack_webhook_url = EncryptedTextField(
        blank=True,
        help_text="Slack incoming-webhook (or API) URL Alertmanager posts to. Stored encrypted; shown masked.",
    )
    control_plane_log_retention_days = models.PositiveIntegerField(
        choices=LogRetention.choices, default=PlatformSpec.control_plane_log_retention_days
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
        else:
            for cidr in self.corp_cidrs:
                try:
                    validate_cidr(str(cidr))
                except ValidationError as exc:
                    errors.setdefault("corp_cidrs", []).extend(exc.messages)
        if self.internal_zone == self.external_zone:
            errors["internal_zone"] = ["The internal and external zones must differ."]
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
