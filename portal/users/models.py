from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A person or an automation account. SREs see and edit everything and approve risky changes."""

    is_sre = models.BooleanField(
        "platform SRE",
        default=False,
        help_text="Set from the IdP's SRE group on each SSO login, or by create_api_token --sre.",
    )
    sso_groups = models.JSONField(default=list, blank=True, help_text="Groups claim of the last SSO login.")

    def save(self, *args, **kwargs):
        # The admin site is the SRE console; staff status follows the SRE role.
        self.is_staff = self.is_sre or self.is_superuser
        super().save(*args, **kwargs)
