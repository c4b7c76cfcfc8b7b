from allauth.account.signals import user_logged_in
from django.dispatch import receiver

from .sso import groups_from_claims, sync_user_groups


@receiver(user_logged_in)
def _sync_sso_groups(sender, request, user, **kwargs) -> None:
    sociallogin = kwargs.get("sociallogin")
    if sociallogin is not None and sociallogin.account.provider == "openid_connect":
        sync_user_groups(user, groups_from_claims(sociallogin.account.extra_data))
