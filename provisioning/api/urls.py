from rest_framework.routers import SimpleRouter

from .views import ApprovalViewSet, RunViewSet

router = SimpleRouter(trailing_slash=True)
router.register("runs", RunViewSet, basename="run")
router.register("approvals", ApprovalViewSet, basename="approval")

urlpatterns = router.urls
