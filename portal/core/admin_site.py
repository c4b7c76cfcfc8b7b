"""The SRE console (Django admin) signs people in through the portal's SSO, never with a password form of its own."""

from functools import update_wrapper
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

NOT_AN_SRE = (
    "The admin is the platform SREs' console and your account is not an SRE. "
    "Use the portal's pages instead, or ask to join the SRE group."
)


class PortalAdminSite(admin.AdminSite):
    site_header = "Platform portal · SRE admin"
    site_title = "Platform portal admin"
    index_title = "SRE console"
    site_url = "/"

    def login(self, request, extra_context=None):
        """Send the browser to the portal's sign-in (SSO, or a local account in development), then back here."""
        index = reverse("admin:index", current_app=self.name)
        next_url = request.GET.get(REDIRECT_FIELD_NAME) or index
        if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure()):
            next_url = index
        if request.user.is_authenticated:
            if self.has_permission(request):
                return redirect(next_url)
            raise PermissionDenied(NOT_AN_SRE)
        return redirect(f"{reverse('account_login')}?{urlencode({REDIRECT_FIELD_NAME: next_url})}")

    def admin_view(self, view, cacheable=False):
        """Signed-out visitors go to sign in; signed-in people who are not SREs are told no (403), at once."""
        wrapped = super().admin_view(view, cacheable)

        def guarded(request, *args, **kwargs):
            if request.user.is_authenticated and not self.has_permission(request):
                raise PermissionDenied(NOT_AN_SRE)
            return wrapped(request, *args, **kwargs)

        return update_wrapper(guarded, wrapped)


class PortalAdminConfig(AdminConfig):
    default_site = "portal.core.admin_site.PortalAdminSite"
