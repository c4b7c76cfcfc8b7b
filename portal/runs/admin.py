"""The SRE console for runs: plans, runs with their steps and log, and the inventory.

Provisioning writes these rows, so the admin shows them read-only. Its actions go through the same operations
as the pages and the API (approve, re-apply, drift check, cancel), report each object's outcome, and are
recorded in each object's admin history.
"""

from django.contrib import admin, messages
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html

from portal.catalog.admin_actions import drift_check_services, label, reapply_services, report
from portal.catalog.models import Service
from portal.core.admin import ReadOnlyMixin
from portal.core.templatetags.portal import badge, duration
from provisioning.models import ManagedResource, Plan, ProvisioningRun, RunLogEntry, RunStep
from provisioning.operations import approve_run, cancel_run
from provisioning.queries import applied_yaml, shown_drift

from .display import plan_groups

ADMIN_CSS = {"all": ("portal/status.css",)}


def run_link(run: ProvisioningRun | None) -> str:
    if run is None:
        return "—"
    return format_html(
        '<a href="{}">#{}</a>', reverse("admin:provisioning_provisioningrun_change", args=[run.pk]), run.pk
    )


@admin.register(Plan)
class PlanAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("id", "scope", "action", "changes_summary", "requires_approval", "created_by", "created_at")
    list_filter = ("action", "requires_approval", "created_at")
    search_fields = ("scope", "service__name", "fingerprint")
    list_select_related = ("created_by",)
    date_hierarchy = "created_at"
    fields = (
        "scope",
        "service",
        "action",
        "catalog_revision",
        "changes_summary",
        "requires_approval",
        "approval_reasons",
        "created_by",
        "created_at",
        "fingerprint",
        "diff",
    )
    readonly_fields = fields

    class Media:
        css = ADMIN_CSS

    @admin.display(description="changes")
    def changes_summary(self, plan: Plan) -> str:
        s = plan.summary or {}
        return (
            f"+{s.get('create', 0)} create, ~{s.get('update', 0)} update, −{s.get('delete', 0)} delete, "
            f"={s.get('unchanged', 0)} unchanged"
        )

    @admin.display(description="diff")
    def diff(self, plan: Plan) -> str:
        return render_to_string("provisioning/includes/plan_diff.html", {"groups": plan_groups(plan)})

    def view_on_site(self, plan: Plan) -> str:
        return reverse("provisioning:plan_detail", args=[plan.pk])


class RunStepInline(ReadOnlyMixin, admin.TabularInline):
    model = RunStep
    extra = 0
    fields = ("position", "provider", "kind", "namespace", "name", "action", "step_status", "took", "error")
    readonly_fields = fields
    ordering = ("position",)

    @admin.display(description="status")
    def step_status(self, step: RunStep) -> str:
        return badge(step.status)

    @admin.display(description="took")
    def took(self, step: RunStep) -> str:
        return duration(step) or "—"


class RunLogInline(ReadOnlyMixin, admin.TabularInline):
    model = RunLogEntry
    extra = 0
    fields = ("at", "level", "event", "message")
    readonly_fields = fields
    verbose_name = "log line"
    verbose_name_plural = "log"


@admin.register(ProvisioningRun)
class ProvisioningRunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("id", "scope", "action", "run_status", "requested_by", "approved_by", "attempts", "created_at")
    list_filter = ("status", "action", "drift_found", "created_at")
    search_fields = ("scope", "service__name", "requested_by__username", "celery_task_id", "error")
    list_select_related = ("requested_by", "approved_by")
    date_hierarchy = "created_at"
    fields = (
        "scope",
        "service",
        "action",
        "run_status",
        "plan_link",
        "approval_reasons",
        "requested_by",
        "approved_by",
        "approved_at",
        "rejection_reason",
        "force_conflicts",
        "attempts",
        "celery_task_id",
        "error",
        "drift_found",
        "created_at",
        "started_at",
        "finished_at",
        "heartbeat_at",
    )
    readonly_fields = fields
    inlines = [RunStepInline, RunLogInline]
    actions = ["approve", "reapply", "drift_check", "cancel_runs"]

    class Media:
        css = ADMIN_CSS

    @admin.display(description="status", ordering="status")
    def run_status(self, run: ProvisioningRun) -> str:
        return badge(run.status)

    @admin.display(description="plan")
    def plan_link(self, run: ProvisioningRun) -> str:
        if run.plan_id is None:
            return "—"
        return format_html(
            '<a href="{}">plan #{}</a>', reverse("admin:provisioning_plan_change", args=[run.plan_id]), run.plan_id
        )

    @admin.display(description="why it needs approval")
    def approval_reasons(self, run: ProvisioningRun) -> str:
        return "; ".join(run.plan.approval_reasons) if run.plan_id and run.plan.approval_reasons else "—"

    def view_on_site(self, run: ProvisioningRun) -> str:
        return reverse("provisioning:run_detail", args=[run.pk])

    @admin.action(description="Approve the selected runs (waiting for approval)")
    def approve(self, request, queryset) -> None:
        for run in queryset:

            def work(r=run) -> str:
                approve_run(r, request.user)
                return "approved; queued for a worker, which plans again before applying"

            report(self, request, run, "approved", work)

    @admin.action(description="Re-apply the services of the selected runs")
    def reapply(self, request, queryset) -> None:
        reapply_services(self, request, self._services(request, queryset))

    @admin.action(description="Drift-check the services of the selected runs")
    def drift_check(self, request, queryset) -> None:
        drift_check_services(self, request, self._services(request, queryset))

    @admin.action(description="Cancel the selected runs")
    def cancel_runs(self, request, queryset) -> None:
        for run in queryset:

            def work(r=run) -> str:
                cancel_run(r, request.user, reason=f"cancelled by {request.user.username} in the admin")
                return "cancelled"

            report(self, request, run, "cancelled", work)

    def _services(self, request, runs) -> list[Service]:
        services = {}
        for run in runs.select_related("service"):
            if run.service is None:
                self.message_user(
                    request,
                    f"{label(run)}: skipped: no service in the catalog (a platform run, or the service is deleted).",
                    messages.WARNING,
                )
            else:
                services[run.service.pk] = run.service
        return list(services.values())


@admin.register(RunStep)
class RunStepAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("run", "position", "provider", "kind", "name", "action", "status", "started_at", "finished_at")
    list_filter = ("status", "action", "provider", "kind")
    search_fields = ("run__scope", "key", "name", "error", "error_code")
    list_select_related = ("run",)


@admin.register(RunLogEntry)
class RunLogEntryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("at", "run", "level", "event", "message")
    list_filter = ("level", "event", "at")
    search_fields = ("run__scope", "event", "message")
    list_select_related = ("run",)
    date_hierarchy = "at"


@admin.register(ManagedResource)
class ManagedResourceAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("key", "scope", "provider", "kind", "resource_status", "last_applied_at", "last_checked_at")
    list_filter = ("provider", "status", "kind")
    search_fields = ("key", "name", "scope", "external_id")
    fields = (
        "key",
        "scope",
        "service",
        "provider",
        "api_version",
        "kind",
        "namespace",
        "name",
        "external_id",
        "resource_status",
        "drift_table",
        "last_run_link",
        "last_applied_at",
        "last_checked_at",
        "applied_digest",
        "applied_yaml",
    )
    readonly_fields = fields
    actions = ["reapply", "drift_check"]

    class Media:
        css = ADMIN_CSS

    @admin.display(description="status", ordering="status")
    def resource_status(self, resource: ManagedResource) -> str:
        return badge(resource.status)

    @admin.display(description="drift")
    def drift_table(self, resource: ManagedResource) -> str:
        return render_to_string("admin/provisioning/drift.html", {"drift": shown_drift(resource)})

    @admin.display(description="last run")
    def last_run_link(self, resource: ManagedResource) -> str:
        return run_link(resource.last_run)

    @admin.display(description="last applied body")
    def applied_yaml(self, resource: ManagedResource) -> str:
        return format_html("<pre>{}</pre>", applied_yaml(resource))

    @admin.action(description="Re-apply the services of the selected resources")
    def reapply(self, request, queryset) -> None:
        reapply_services(self, request, self._services(queryset))

    @admin.action(description="Drift-check the services of the selected resources")
    def drift_check(self, request, queryset) -> None:
        drift_check_services(self, request, self._services(queryset))

    @staticmethod
    def _services(resources) -> list[Service]:
        return list(Service.objects.filter(pk__in=resources.exclude(service=None).values("service_id")))
