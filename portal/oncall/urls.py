from django.urls import path

from . import views

app_name = "oncall"

urlpatterns = [
    path("oncall/", views.overview, name="overview"),
    path("teams/<slug:slug>/oncall/", views.team_oncall, name="team"),
    path("teams/<slug:slug>/oncall/feed-link/", views.feed_link, name="feed_link"),
]
