from allauth.account.signals import user_logged_in
from django.dispatch import receiver

from .sso import groups_from_claims, sync_user_groups


@receiver(user_logged_in)
def _sync_sso_groups(sender, request, user, **kwargs) -> None:
    sociallogin = kwargs.get("sociallogin")
    # account.provider holds the app's provider_id ("sso"); the provider's id names its kind.
    if sociallogin is not None and sociallogin.provider.id == "openid_connect":
        sync_user_groups(user, groups_from_claims(sociallogin.account.extra_data))
