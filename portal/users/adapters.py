from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings

from portal.core.api import client_network


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        # Local accounts are created by SREs or create_api_token; people arrive through SSO.
        return settings.ACCOUNT_ALLOW_SIGNUP

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        # allauth counts failed sign-ins per username ("key"), so anyone could lock any account out by failing from
        # anywhere. Counted per username and client address, the account stays open from every other address;
        # the per-address limit still bounds how fast one address may guess.
        login_key = super()._get_login_attempts_cache_key(request, **credentials)
        return f"{login_key}@{client_network(self.get_client_ip(request))}"


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin) -> bool:
        return True

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        if not user.username:
            user.username = (data.get("email") or "").split("@")[0] or sociallogin.account.uid
        return user
