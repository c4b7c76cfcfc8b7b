"""Celery application: configuration from Django settings (CELERY_*), tasks autodiscovered."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Provisioning's tasks live with the rest of the run machinery, in provisioning/runs/tasks.py.
app.autodiscover_tasks(["provisioning.runs"])
