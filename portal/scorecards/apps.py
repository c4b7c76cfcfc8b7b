from django.apps import AppConfig


class ScorecardsConfig(AppConfig):
    name = "portal.scorecards"
    label = "scorecards"
    verbose_name = "Scorecards"

    def ready(self) -> None:
        from . import receivers  # noqa: F401 -- connects the stored cards' receivers
