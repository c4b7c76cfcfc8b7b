"""Local development: SQLite, a file-system broker, the moto sandbox, the gitops target."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "local-development-only-secret-key-not-for-production-use")
os.environ.setdefault("DJANGO_DEBUG", "true")
# A fixed development key, so a local database stays readable across restarts.
os.environ.setdefault("PORTAL_ENCRYPTION_KEYS", "bG9jYWwtZGV2ZWxvcG1lbnQta2V5LTMyLWJ5dGVzISE=")
os.environ.setdefault("PORTAL_ALLOW_PRIVATE_WEBHOOKS", "true")
os.environ.setdefault("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
os.environ.setdefault("AWS_DEFAULT_REGION", "ap-northeast-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "sandbox")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "sandbox")

from .base import *  # noqa: F403

# Static files straight from static/ (no collectstatic in development).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
