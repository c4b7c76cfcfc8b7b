from django.contrib import admin

from .models import Exposure, Hostname, Membership, PlatformSettings, Route, Service, Team, Telemetry, Traffic


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "slack_channel", "sso_group", "updated_at")
    search_fields = ("slug", "name", "sso_group")
    exclude = ("incident_webhook_url",)
    readonly_fields = ("incident_webhook_masked", "revision")
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("team", "user", "role", "source")
    list_filter = ("role", "source", "team")
    search_fields = ("team__slug", "user__username")
    autocomplete_fields = ["user", "team"]


class HostnameInline(admin.TabularInline):
    model = Hostname
    extra = 0


class RouteInline(admin.TabularInline):
    model = Route
    fk_name = "exposure"
    extra = 0


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "lifecycle", "tier", "protocol", "mesh", "state", "updated_at")
    list_filter = ("lifecycle", "protocol", "mesh", "state", "exposure__level", "team")
    search_fields = ("name", "description", "team__slug")
    list_select_related = ("team", "exposure")
    readonly_fields = ("revision", "created_by", "created_at", "updated_at")


@admin.register(Exposure)
class ExposureAdmin(admin.ModelAdmin):
    list_display = ("service", "level", "builtin_sso")
    list_filter = ("level",)
    search_fields = ("service__name", "hostnames__fqdn")
    inlines = [HostnameInline, RouteInline]


@admin.register(Traffic)
class TrafficAdmin(admin.ModelAdmin):
    list_display = ("service", "load_balancer", "mtls")
    list_filter = ("load_balancer", "mtls")
    search_fields = ("service__name",)
    filter_horizontal = ("allowed_callers",)


@admin.register(Telemetry)
class TelemetryAdmin(admin.ModelAdmin):
    list_display = ("service", "access_logging", "log_retention_days", "dashboard")
    list_filter = ("access_logging", "dashboard", "log_retention_days")
    search_fields = ("service__name",)


@admin.register(PlatformSettings)
class PlatformSettingsAdmin(admin.ModelAdmin):
    list_display = ("cluster_name", "region", "kubernetes_target", "external_zone", "internal_zone")

    def has_add_permission(self, request) -> bool:
        return not PlatformSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
