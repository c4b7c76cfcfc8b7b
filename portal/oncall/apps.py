from django.apps import AppConfig


class OnCallConfig(AppConfig):
    name = "portal.oncall"
    label = "oncall"
    verbose_name = "On-call"
