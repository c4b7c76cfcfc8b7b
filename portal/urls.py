from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from portal.catalog.api.specs import service_spec_schema
from portal.core.health import healthz
from portal.home import home

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/service-spec.json", service_spec_schema, name="service-spec-schema"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include("portal.oncall.api.urls")),
    path("api/v1/", include("portal.catalog.api.urls")),
    path("api/v1/", include("portal.runs.api.urls")),
    path("api/v1/", include("portal.audit.api.urls")),
    path("api/v1/", include("portal.scorecards.api.urls")),
    path("", include("portal.oncall.urls")),
    path("", include("portal.catalog.urls")),
    path("", include("portal.runs.urls")),
    path("", include("portal.scorecards.urls")),
    path("", home, name="home"),
]
