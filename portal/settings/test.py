"""Test settings: PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set, SQLite otherwise."""

import os
import tempfile

os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-with-enough-length-to-be-accepted-000")
os.environ.setdefault("PORTAL_ENCRYPTION_KEYS", "dGVzdC1lbmNyeXB0aW9uLWtleS0zMi1ieXRlcy1vayE=")
os.environ.setdefault("PORTAL_ALLOW_PRIVATE_WEBHOOKS", "false")
os.environ.setdefault("AWS_DEFAULT_REGION", "ap-northeast-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
# Tests never reach real AWS: without the sandbox fixture (tests/conftest.py) calls fail fast on a closed port.
os.environ.setdefault("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
os.environ.setdefault("PORTAL_BROKER_DIR", tempfile.mkdtemp(prefix="portal-broker-"))
os.environ.setdefault("PORTAL_GITOPS_DIR", tempfile.mkdtemp(prefix="portal-gitops-"))

from .base import *  # noqa: F403
from .base import DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # One file per test process: concurrent runs in one checkout must not share a database.
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(tempfile.gettempdir(), f"portal-test-{os.getpid()}.sqlite3")}
# Rate-limit counters in this process's memory: tests clear them between tests, which on Redis would flush the
# broker's database shared with workers and other test runs. tests/security checks the Redis cache on its own.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "portal-test"}}
STATIC_ROOT = tempfile.mkdtemp(prefix="portal-static-")
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Tests read the lists right after a change, with no worker to compute the cards it made due.
PORTAL_SCORECARD_GRACE_SECONDS = 0
