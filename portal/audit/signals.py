"""Audit records of API tokens: created outside any form or serializer (``create_api_token``, the admin)."""

from django.db.models.signals import post_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token

from .context import current_request
from .log import record


@receiver(post_save, sender=Token, dispatch_uid="audit-token")
def _token_created(sender, instance, created, **kwargs) -> None:
    if created:
        record(
            "token.create",
            "token",
            instance.user.username,
            request=current_request(),
            detail="a new API token replaced any previous one",
        )
