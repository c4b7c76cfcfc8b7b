from django.urls import path

from . import views

# The pages keep their URL names ("provisioning:run_detail", ...): templates and links refer to them.
app_name = "provisioning"

urlpatterns = [
    path("services/<slug:name>/plan/", views.plan_create, name="plan_create"),
    path("services/<slug:name>/apply/", views.apply, name="apply"),
    path("services/<slug:name>/drift-check/", views.drift_check, name="drift_check"),
    path("services/<slug:name>/runs/", views.run_list, name="run_list"),
    path("services/<slug:name>/manifests/", views.manifests, name="manifests"),
    path("services/<slug:name>/graph/", views.graph, name="graph"),
    path("services/<slug:name>/graph.svg", views.graph_svg, name="graph_svg"),
    path("plans/<int:pk>/", views.plan_detail, name="plan_detail"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("runs/<int:pk>/progress/", views.run_progress, name="run_progress"),
    path("runs/<int:pk>/cancel/", views.run_cancel, name="run_cancel"),
    path("approvals/", views.approvals, name="approvals"),
    path("approvals/<int:pk>/approve/", views.approve, name="approve"),
    path("approvals/<int:pk>/reject/", views.reject, name="reject"),
]
