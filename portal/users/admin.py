from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import TokenProxy

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "is_sre", "is_active", "last_login")
    list_filter = ("is_sre", "is_active")
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        ("Platform", {"fields": ("is_sre", "sso_groups")}),
    )
    readonly_fields = ("sso_groups",)


admin.site.unregister(TokenProxy)


@admin.register(TokenProxy)
class ApiTokenAdmin(TokenAdmin):
    """Who holds an API token and since when; revoke one by deleting it. A key is a password: it is shown once,
    by ``create_api_token``, and never here."""

    list_display = ("user", "created")
    fields = ("user", "created")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
