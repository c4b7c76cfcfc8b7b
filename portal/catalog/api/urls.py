from rest_framework.routers import DefaultRouter

from .views import ServiceViewSet, TeamViewSet

router = DefaultRouter(trailing_slash=True)
router.register("teams", TeamViewSet)
router.register("services", ServiceViewSet)

urlpatterns = router.urls
