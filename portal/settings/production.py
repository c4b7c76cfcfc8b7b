"""Production: PostgreSQL, Redis, real AWS through IRSA, the kubernetes target, TLS at the ALB."""

from .base import *  # noqa: F403
from .base import DATABASES, REDIS_URL, REST_FRAMEWORK, env

if not REDIS_URL:
    raise RuntimeError("REDIS_URL must be set in production")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    raise RuntimeError("DATABASE_URL must point at PostgreSQL in production")

DEBUG = False
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
PORTAL_ENCRYPTION_KEYS = env.list("PORTAL_ENCRYPTION_KEYS")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# TLS terminates at the ALB, which sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
# Cookies travel over HTTPS only; the session cookie is out of reach of scripts (base settings).
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# The ALB appends the client's address to X-Forwarded-For: rate limits count per client, not per ALB node.
PORTAL_TRUSTED_PROXY_COUNT = env.int("PORTAL_TRUSTED_PROXY_COUNT", default=1)
ALLAUTH_TRUSTED_PROXY_COUNT = PORTAL_TRUSTED_PROXY_COUNT
REST_FRAMEWORK = {**REST_FRAMEWORK, "NUM_PROXIES": PORTAL_TRUSTED_PROXY_COUNT}
