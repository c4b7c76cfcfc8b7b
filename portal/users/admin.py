from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

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
