from django.urls import path
from rest_framework.routers import SimpleRouter

from .platform import AnalysisView, PlatformApplyView, PlatformManifestsView, PlatformPlanView, PlatformSettingsView
from .views import ApprovalViewSet, RunViewSet

router = SimpleRouter(trailing_slash=True)
router.register("runs", RunViewSet, basename="run")
router.register("approvals", ApprovalViewSet, basename="approval")

urlpatterns = [
    path("platform/settings/", PlatformSettingsView.as_view(), name="platform-settings"),
    path("platform/manifests/", PlatformManifestsView.as_view(), name="platform-manifests"),
    path("platform/plan/", PlatformPlanView.as_view(), name="platform-plan"),
    path("platform/apply/", PlatformApplyView.as_view(), name="platform-apply"),
    path("analysis/", AnalysisView.as_view(), name="analysis"),
    *router.urls,
]
