from django.contrib import admin

from .models import Override, Rotation, RotationMember, Schedule


class RotationInline(admin.TabularInline):
    model = Rotation
    extra = 0
    fields = ("role", "member_list", "shift_hours", "start_date", "handoff_time")
    readonly_fields = fields
    can_delete = False

    @admin.display(description="members, in order")
    def member_list(self, rotation: Rotation) -> str:
        return ", ".join(m.user.username for m in rotation.members.select_related("user"))

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class OverrideInline(admin.TabularInline):
    model = Override
    extra = 0
    fields = ("role", "user", "start", "end")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    """Read-only: schedules are edited through the API and the web pages, which validate the whole schedule."""

    list_display = ("team", "time_zone", "routed_incident_commander", "routed_resolver", "routed_at", "updated_at")
    list_filter = ("time_zone",)
    search_fields = ("team__slug", "team__name")
    list_select_related = ("team",)
    readonly_fields = (
        "team",
        "time_zone",
        "revision",
        "feed_token_created_at",
        "routed_incident_commander",
        "routed_resolver",
        "routed_at",
        "updated_by",
        "created_at",
        "updated_at",
    )
    exclude = ("feed_token_hash",)
    inlines = [RotationInline, OverrideInline]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(RotationMember)
class RotationMemberAdmin(admin.ModelAdmin):
    list_display = ("rotation", "position", "user")
    list_filter = ("rotation__role",)
    search_fields = ("rotation__schedule__team__slug", "user__username")
    list_select_related = ("rotation__schedule__team", "user")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
