from django.urls import path
from rest_framework.routers import DefaultRouter

from .backstage_views import BackstageEntitiesView, BackstageImportView
from .specs import SpecApplyView
from .views import MembershipViewSet, ServiceViewSet, TeamViewSet

router = DefaultRouter(trailing_slash=True)
router.register("teams", TeamViewSet)
router.register("services", ServiceViewSet)

members = MembershipViewSet.as_view({"get": "list", "post": "create"})
member = MembershipViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"})

urlpatterns = [
    path("teams/<slug:slug>/members/", members, name="team-members"),
    path("teams/<slug:slug>/members/<str:username>/", member, name="team-member"),
    path("specs/apply/", SpecApplyView.as_view(), name="spec-apply"),
    path("backstage/entities/", BackstageEntitiesView.as_view(), name="backstage-entities"),
    path("backstage/import/", BackstageImportView.as_view(), name="backstage-import"),
    *router.urls,
]
