from django.urls import path

from . import views

app_name = "catalog"

urlpatterns = [
    path("teams/", views.team_list, name="team_list"),
    path("teams/<slug:slug>/", views.team_detail, name="team_detail"),
    path("teams/<slug:slug>/edit/", views.team_edit, name="team_edit"),
    path("teams/<slug:slug>/members/", views.member_add, name="member_add"),
    path("teams/<slug:slug>/members/<str:username>/", views.member_change, name="member_change"),
    path("teams/<slug:slug>/members/<str:username>/remove/", views.member_remove, name="member_remove"),
    path("services/", views.service_list, name="service_list"),
    # Not under services/: any DNS label, "new" included, may name a service.
    path("register/", views.service_create, name="service_create"),
    path("services/<slug:name>/", views.service_detail, name="service_detail"),
    path("services/<slug:name>/edit/", views.service_edit, name="service_edit"),
    path("services/<slug:name>/delete/", views.service_delete, name="service_delete"),
    # The runbook and dashboard links of the service's alerts (provisioning.desired.prometheus).
    path("services/<slug:name>/runbook/", views.service_runbook, name="service_runbook"),
    path("services/<slug:name>/dashboard/", views.service_dashboard, name="service_dashboard"),
]
