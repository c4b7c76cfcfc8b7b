"""Settings shared by every environment; every value comes from the environment."""

from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

SECRET_KEY = env("DJANGO_SECRET_KEY")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "portal.core.admin_site.PortalAdminConfig",  # django.contrib.admin, signing in through SSO
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_celery_beat",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "portal.core",
    "portal.users",
    "portal.catalog",
    "portal.oncall",
    "portal.audit",
    "portal.runs",
    "portal.scorecards",
    "portal.notify",
    "provisioning",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "portal.audit.context.AuditContextMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one file: wait for locks instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "users.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "portal.users.backends.SreBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))

# --- Security headers (every environment, so tests and development see what production sends) ------------
# No inline script, style or handler anywhere: templates load static/ files only, the resource graph's SVG
# carries Graphviz presentation attributes (no style attributes), htmx injects no indicator styles.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
# Proxies in front of the portal that append to X-Forwarded-For (the ALB: 1). Rate limits per client address
# read the address this many hops from the end; 0 trusts no header and uses the connection's address.
PORTAL_TRUSTED_PROXY_COUNT = env.int("PORTAL_TRUSTED_PROXY_COUNT", default=0)

# --- SSO (django-allauth, OpenID Connect) -------------------------------------------------
OIDC_ISSUER = env("PORTAL_OIDC_ISSUER", default="")
OIDC_CLIENT_ID = env("PORTAL_OIDC_CLIENT_ID", default="")
OIDC_CLIENT_SECRET = env("PORTAL_OIDC_CLIENT_SECRET", default="")
OIDC_PROVIDER_NAME = env("PORTAL_OIDC_PROVIDER_NAME", default="Single sign-on")
OIDC_GROUPS_CLAIM = env("PORTAL_OIDC_GROUPS_CLAIM", default="groups")
# The IdP's endpoints for platform tools that cannot discover them (Grafana); empty: Keycloak's layout.
OIDC_AUTHORIZATION_URL = env("PORTAL_OIDC_AUTHORIZATION_URL", default="")
OIDC_TOKEN_URL = env("PORTAL_OIDC_TOKEN_URL", default="")
OIDC_USERINFO_URL = env("PORTAL_OIDC_USERINFO_URL", default="")
PORTAL_SRE_GROUP = env("PORTAL_SRE_GROUP", default="platform-sre")
PORTAL_OWNER_GROUP_SUFFIX = env("PORTAL_OWNER_GROUP_SUFFIX", default="-owners")

ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "portal.users.adapters.AccountAdapter"
ACCOUNT_ALLOW_SIGNUP = env.bool("PORTAL_ALLOW_SIGNUP", default=False)
# allauth's rate limits (kept in the cache): failed sign-ins per client address and per username, and all
# sign-in attempts per address. The admin has no password form of its own: it sends people here.
ACCOUNT_RATE_LIMITS = {
    "login": env("PORTAL_LOGIN_RATE", default="30/m/ip"),
    "login_failed": env("PORTAL_LOGIN_FAILED_RATE", default="10/m/ip,5/5m/key"),
}
ALLAUTH_TRUSTED_PROXY_COUNT = PORTAL_TRUSTED_PROXY_COUNT
SOCIALACCOUNT_ADAPTER = "portal.users.adapters.SocialAccountAdapter"
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_PROVIDERS = {}
if OIDC_ISSUER:
    # The sign-in button's form posts here and is redirected to the IdP: browsers hold that redirect to
    # form-action too.
    _issuer = urlsplit(OIDC_ISSUER)
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append(f"{_issuer.scheme}://{_issuer.netloc}")
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [
            {
                "provider_id": "sso",
                "name": OIDC_PROVIDER_NAME,
                "client_id": OIDC_CLIENT_ID,
                "secret": OIDC_CLIENT_SECRET,
                "settings": {
                    "server_url": OIDC_ISSUER,
                    "token_auth_method": env("PORTAL_OIDC_TOKEN_AUTH_METHOD", default="client_secret_basic"),
                    "scope": env.list("PORTAL_OIDC_SCOPES", default=["openid", "profile", "email", "groups"]),
                },
            }
        ],
    }

# --- REST API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.core.credentials.TokenAuthentication",  # wrong tokens count against the client's address
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "portal.core.api.Pagination",
    # JSON nested at most MAX_JSON_DEPTH deep; forms as DRF parses them.
    "DEFAULT_PARSER_CLASSES": [
        "portal.core.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "portal.core.exceptions.exception_handler",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["portal.core.api.FilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Per token (per user: one token each), and per address for the few endpoints open without one.
    "DEFAULT_THROTTLE_CLASSES": ["portal.core.api.TokenRateThrottle", "portal.core.api.AnonymousRateThrottle"],
    "NUM_PROXIES": PORTAL_TRUSTED_PROXY_COUNT,
}
# Requests per period: "1200/min", "20/s", "50000/day"; counted in the cache (Redis when REDIS_URL is set).
PORTAL_API_RATE = env("PORTAL_API_RATE", default="1200/min")
PORTAL_API_ANON_RATE = env("PORTAL_API_ANON_RATE", default="120/min")
SPECTACULAR_SETTINGS = {
    "TITLE": "Platform portal API",
    "DESCRIPTION": "Register services and provision them on EKS, Istio, Prometheus and AWS.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's assets come from the sidecar package: the docs work offline, with no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "RunActionEnum": "provisioning.choices.RunAction",
        "RunStatusEnum": "provisioning.choices.RunStatus",
        "ChangeActionEnum": "provisioning.choices.ChangeAction",
        "StepStatusEnum": "provisioning.choices.StepStatus",
        "LogRetentionEnum": "portal.catalog.choices.LogRetention",
        # The exposure's levels keep their name beside the scorecards' levels.
        "LevelEnum": "portal.catalog.choices.ExposureLevel",
        "ScorecardLevelEnum": "portal.scorecards.rules.LEVEL_ORDER",
        "RuleLevelEnum": "portal.scorecards.rules.LEVELS",
        "RuleOutcomeEnum": "portal.scorecards.rules.STATUSES",
    },
}

# --- Celery ---------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_DIR = Path(env("PORTAL_BROKER_DIR", default=str(VAR_DIR / "broker")))
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A task whose worker died unacknowledged is delivered again after this many seconds.
        "visibility_timeout": env.int("PORTAL_BROKER_VISIBILITY_TIMEOUT", default=900),
        # Sending a message with the broker away: two more tries 0.2 s apart, then the sender's own handling (a run
        # stays queued and the reaper sends it again), instead of kombu's four seconds of retries on every request.
        # The workers' own connection keeps Celery's broker_connection_* retries.
        "max_retries": 2,
        "interval_start": 0.2,
        "interval_step": 0.2,
        "interval_max": 0.2,
    }
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
# The cache holds the API's and the sign-in's rate-limit counters: shared by every web process through Redis.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "portal",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "portal"}}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Every task's time limits (the tasks set none of their own), but the reaper's below.
CELERY_TASK_TIME_LIMIT = env.int("PORTAL_TASK_TIME_LIMIT", default=1800)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("PORTAL_TASK_SOFT_TIME_LIMIT", default=1500)
# On a cold shutdown (SIGQUIT; SIGTERM too with REMAP_SIGTERM=SIGQUIT, as deploy/ runs workers) running tasks get
# this long to finish before the worker cancels them and hands their messages back to the broker; 0: at once.
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = env.float("PORTAL_WORKER_SOFT_SHUTDOWN_SECONDS", default=0.0)
PORTAL_REAP_INTERVAL_SECONDS = env.int("PORTAL_REAP_INTERVAL_SECONDS", default=30)
# A reaper that hangs (the database away) is stopped before more of them pile up behind it.
_REAP_TIME_LIMIT = max(60, 2 * PORTAL_REAP_INTERVAL_SECONDS)
CELERY_TASK_ANNOTATIONS = {
    "provisioning.reap_runs": {"time_limit": _REAP_TIME_LIMIT, "soft_time_limit": _REAP_TIME_LIMIT - 10}
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "reap-runs": {"task": "provisioning.reap_runs", "schedule": PORTAL_REAP_INTERVAL_SECONDS},
    "drift-sweep": {
        "task": "provisioning.drift_sweep",
        "schedule": env.int("PORTAL_DRIFT_INTERVAL_SECONDS", default=3600),
    },
    # On-call names are baked into the rendered alert routing: re-apply a team's services after a handoff.
    # Clean drift checks older than PORTAL_RUN_RETENTION_DAYS go (each service's newest stays).
    "compact-runs": {
        "task": "provisioning.compact_runs",
        "schedule": env.int("PORTAL_COMPACT_INTERVAL_SECONDS", default=6 * 3600),
    },
    "oncall-refresh-routing": {
        "task": "oncall.refresh_routing",
        "schedule": env.int("PORTAL_ONCALL_REFRESH_SECONDS", default=300),
    },
    # Stored scorecards due within the next interval are computed again here, not by the page that finds them due.
    "scorecards-refresh": {"task": "scorecards.refresh", "schedule": 60},
}
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# The queue the portal's processes send to and its workers take from: portals sharing one broker each need their own.
CELERY_TASK_DEFAULT_QUEUE = env("PORTAL_CELERY_QUEUE", default="celery")

# --- Scorecards --------------------------------------------------------------------------------
# A change makes its cards due and asks a worker to compute them, all those due at once, a second later; until
# then the lists show the cards as they were. A list computes a due card itself only once it has been due this
# long (no worker, or one far behind), so lists are never staler than this. 0: lists compute every due card.
PORTAL_SCORECARD_GRACE_SECONDS = env.int("PORTAL_SCORECARD_GRACE_SECONDS", default=10)

# --- Provisioning runs ---------------------------------------------------------------------------
# A worker refreshes a run's heartbeat at every step; without one for this long it is presumed dead.
PORTAL_RUN_LEASE_SECONDS = env.int("PORTAL_RUN_LEASE_SECONDS", default=120)
PORTAL_RUN_MAX_ATTEMPTS = env.int("PORTAL_RUN_MAX_ATTEMPTS", default=5)
# A queued run that no worker picked up for this long is sent to the broker again.
PORTAL_RUN_REQUEUE_SECONDS = env.int("PORTAL_RUN_REQUEUE_SECONDS", default=60)
# An apply whose plan was made this recently (and nothing changed since) applies it without observing again;
# an older plan (an approval that took a while) is planned again first. 0 always plans again.
PORTAL_PLAN_REUSE_SECONDS = env.int("PORTAL_PLAN_REUSE_SECONDS", default=300)
# The drift sweep sends its checks to workers in batches of this many services, each batch reading ahead once
# for all of them (one list per kind, one listing per AWS resource type) instead of once per service.
PORTAL_DRIFT_BATCH_SIZE = env.int("PORTAL_DRIFT_BATCH_SIZE", default=100)
# A clean drift check (the sweep's, nothing found) is kept this many days, then removed by the compact-runs
# task; applies, failures and checks that found drift are kept.
PORTAL_RUN_RETENTION_DAYS = env.int("PORTAL_RUN_RETENTION_DAYS", default=14)

# --- Secrets at rest --------------------------------------------------------------------------
# Comma-separated Fernet keys; the first encrypts, all decrypt (rotation).
PORTAL_ENCRYPTION_KEYS = env.list("PORTAL_ENCRYPTION_KEYS", default=[])
PORTAL_ALLOW_PRIVATE_WEBHOOKS = env.bool("PORTAL_ALLOW_PRIVATE_WEBHOOKS", default=False)

# --- Provisioning targets ----------------------------------------------------------------------
PORTAL_GITOPS_DIR = Path(env("PORTAL_GITOPS_DIR", default=str(VAR_DIR / "gitops")))
PORTAL_GITOPS_REMOTE = env("PORTAL_GITOPS_REMOTE", default="")
PORTAL_KUBECONFIG = env("PORTAL_KUBECONFIG", default="")
PORTAL_KUBE_CONTEXT = env("PORTAL_KUBE_CONTEXT", default="")
# The CRD schemas the preflight checks custom resources against: the ones vendored in provisioning/crds/ unless
# set (the `kubernetes` target reads the cluster's own CRDs instead).
PORTAL_CRD_DIR = env("PORTAL_CRD_DIR", default=str(BASE_DIR / "provisioning" / "crds"))
PORTAL_PUBLIC_URL = env("PORTAL_PUBLIC_URL", default="http://127.0.0.1:8000")

# --- Slack notifications -----------------------------------------------------------------------
# Attempts to post one message (the first included) when Slack does not answer, answers 5xx or 429; between them
# an exponential backoff from this many seconds (with jitter, at most five minutes), or Slack's Retry-After.
PORTAL_NOTIFY_MAX_ATTEMPTS = env.int("PORTAL_NOTIFY_MAX_ATTEMPTS", default=5)
PORTAL_NOTIFY_BACKOFF_SECONDS = env.float("PORTAL_NOTIFY_BACKOFF_SECONDS", default=2.0)

# --- AWS ---------------------------------------------------------------------------------------
# boto3 reads AWS_ENDPOINT_URL (the sandbox) and the credentials itself; the region is the platform's.
# Attempts per API call, the first included (standard retry mode: backoff with jitter on throttling and 5xx).
PORTAL_AWS_MAX_ATTEMPTS = env.int("PORTAL_AWS_MAX_ATTEMPTS", default=5)
# How long one step waits for AWS to catch up (an ACM certificate's validation record, its issuance);
# beyond that the step fails as temporary and the run is retried with backoff. Keep it under the run lease.
PORTAL_AWS_WAIT_SECONDS = env.int("PORTAL_AWS_WAIT_SECONDS", default=60)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "event": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    # Whatever logs a stored secret (a library at DEBUG), the handler writes it hidden.
    "filters": {"redact_secrets": {"()": "portal.core.logfilters.RedactSecrets"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "event", "filters": ["redact_secrets"]}},
    "root": {"handlers": ["console"], "level": env("PORTAL_LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "botocore": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}
