from django import forms
from django.contrib import admin
from django.urls import reverse

from portal.core.admin import ReadOnlyMixin

from . import services
from .admin_actions import drift_check_services, reapply_services
from .api.serializers import ServiceSerializer
from .documents import current_document, merge_patch
from .forms.service import flatten_errors
from .models import Exposure, Hostname, Membership, PlatformSettings, Route, Service, Team, Telemetry, Traffic


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "slack_channel", "sso_group", "updated_at")
    search_fields = ("slug", "name", "sso_group")
    exclude = Team.SECRET_FIELDS
    readonly_fields = (
        "incident_alertmanager_masked",
        "has_incident_alertmanager_token",
        "incident_sns_masked",
        "slack_webhook_masked",
        "revision",
    )
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("team", "user", "role", "source")
    list_filter = ("role", "source", "team")
    search_fields = ("team__slug", "user__username")
    autocomplete_fields = ["user", "team"]


class HostnameInline(ReadOnlyMixin, admin.TabularInline):
    model = Hostname
    extra = 0


class RouteInline(ReadOnlyMixin, admin.TabularInline):
    model = Route
    fk_name = "exposure"
    extra = 0


class ServiceAdminForm(forms.ModelForm):
    """The admin validates a service with ``ServiceSerializer`` and saves it through the catalog's write path, like
    the pages and the API: the same rules, an audit record, and the revision moves on."""

    runbook_url = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text=Service._meta.get_field("runbook_url").help_text,
    )

    class Meta:
        model = Service
        fields = ["team", "description", "lifecycle", "tier", "port", "protocol", "mesh", "runbook_url"]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        changes = {k: v for k, v in cleaned.items() if k in self.Meta.fields}
        changes["team"] = changes["team"].slug
        current = current_document(Service.objects.get(pk=self.instance.pk))
        self.serializer = ServiceSerializer(instance=self.instance, data=merge_patch(current, changes))
        if not self.serializer.is_valid():
            for path, errors in flatten_errors(self.serializer.errors).items():
                self.add_error(path if path in self.fields else None, [f"{path}: {e}" for e in errors])
        return cleaned


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    form = ServiceAdminForm
    list_display = ("name", "team", "lifecycle", "tier", "protocol", "mesh", "state", "updated_at")
    list_filter = ("lifecycle", "protocol", "mesh", "state", "exposure__level", "team")
    search_fields = ("name", "description", "team__slug")
    list_select_related = ("team", "exposure")
    readonly_fields = ("name", "state", "revision", "created_by", "created_at", "updated_at")
    actions = ["reapply", "drift_check"]

    def has_add_permission(self, request) -> bool:
        # A service is registered with its exposure, traffic and telemetry: through the portal's form or the API.
        return False

    def save_model(self, request, obj, form, change) -> None:
        services.update_service(obj, form.serializer.validated_data, actor=request.user, request=request)

    def view_on_site(self, service: Service) -> str:
        return reverse("catalog:service_detail", args=[service.name])

    @admin.action(description="Re-apply the selected services")
    def reapply(self, request, queryset) -> None:
        reapply_services(self, request, queryset)

    @admin.action(description="Drift-check the selected services")
    def drift_check(self, request, queryset) -> None:
        drift_check_services(self, request, queryset)


class ServicePartAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Exposure, traffic and telemetry are parts of one service document: shown here, edited in the portal's
    service form or the API, which validate the whole document and move the service's revision on."""

    def view_on_site(self, part) -> str:
        return reverse("catalog:service_edit", args=[part.service.name])


@admin.register(Exposure)
class ExposureAdmin(ServicePartAdmin):
    list_display = ("service", "level", "builtin_sso")
    list_filter = ("level",)
    search_fields = ("service__name", "hostnames__fqdn")
    inlines = [HostnameInline, RouteInline]


@admin.register(Traffic)
class TrafficAdmin(ServicePartAdmin):
    list_display = ("service", "load_balancer", "mtls")
    list_filter = ("load_balancer", "mtls")
    search_fields = ("service__name",)


@admin.register(Telemetry)
class TelemetryAdmin(ServicePartAdmin):
    list_display = ("service", "access_logging", "log_retention_days", "dashboard")
    list_filter = ("access_logging", "dashboard", "log_retention_days")
    search_fields = ("service__name",)


class PlatformSettingsAdminForm(forms.ModelForm):
    """The Slack webhook is write-only here as everywhere: never sent back to the browser."""

    slack_webhook_url = forms.CharField(
        required=False,
        label="Slack webhook URL",
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="Stored encrypted and never shown in full. Leave empty to keep the current one.",
    )
    remove_slack_webhook = forms.BooleanField(required=False, label="Remove the Slack webhook")

    class Meta:
        model = PlatformSettings
        fields = "__all__"  # noqa: DJ007 - every setting, as the admin showed before; only the webhook differs

    def clean_slack_webhook_url(self) -> str:
        value = self.cleaned_data["slack_webhook_url"].strip()
        if self.data.get("remove_slack_webhook"):
            return ""
        return value or self.instance.slack_webhook_url


@admin.register(PlatformSettings)
class PlatformSettingsAdmin(admin.ModelAdmin):
    form = PlatformSettingsAdminForm
    list_display = ("cluster_name", "region", "kubernetes_target", "external_zone", "internal_zone")
    readonly_fields = ("slack_webhook_masked",)

    def has_add_permission(self, request) -> bool:
        return not PlatformSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
