"""On-call routes, nested under a team: ``teams/<slug>/oncall/...`` (the catalog router owns ``teams/<slug>/``)."""

from django.urls import path

from .views import CalendarFeedView, FeedTokenView, OnCallNowView, ScheduleView

urlpatterns = [
    path("teams/<slug:slug>/oncall/", ScheduleView.as_view(), name="oncall-schedule"),
    path("teams/<slug:slug>/oncall/now/", OnCallNowView.as_view(), name="oncall-now"),
    path("teams/<slug:slug>/oncall/feed-token/", FeedTokenView.as_view(), name="oncall-feed-token"),
    path("teams/<slug:slug>/oncall.ics", CalendarFeedView.as_view(), name="oncall-ics"),
]
