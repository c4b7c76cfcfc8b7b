from django.urls import path

from .views import ScorecardDetailView, ScorecardListView, ScorecardRuleListView, TeamScorecardListView

# Teams and rules are not under scorecards/: any DNS label may name a service.
urlpatterns = [
    path("scorecards/", ScorecardListView.as_view(), name="scorecard-list"),
    path("scorecards/<slug:name>/", ScorecardDetailView.as_view(), name="scorecard-detail"),
    path("team-scorecards/", TeamScorecardListView.as_view(), name="team-scorecard-list"),
    path("scorecard-rules/", ScorecardRuleListView.as_view(), name="scorecard-rule-list"),
]
