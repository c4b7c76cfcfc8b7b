"""SREs hold every permission of the portal's models (the admin is their console)."""

from django.contrib.auth.backends import BaseBackend


class SreBackend(BaseBackend):
    def has_perm(self, user_obj, perm, obj=None) -> bool:
        return bool(user_obj.is_active and getattr(user_obj, "is_sre", False))

    def has_module_perms(self, user_obj, app_label) -> bool:
        return bool(user_obj.is_active and getattr(user_obj, "is_sre", False))
