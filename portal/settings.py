"""Settings for the ACS Entra onboarding portal, read from the environment.

Every variable is documented in README.md. The defaults run the demo with nothing installed
but Python: SQLite and an embedded (filesystem) Celery broker under ``var/``. Production mode
(``DJANGO_ENV=production``) refuses to start with a demo secret and turns on every
``check --deploy`` protection.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from portal import queues
from portal.msconfig import microsoft_settings

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    # Local override for development only; production gets real environment variables.
    env.read_env(str(BASE_DIR / ".env"), overwrite=False)


def env_secret(name: str, default: str = "") -> str:
    """Read ``NAME_FILE`` first (Docker secrets), then ``NAME``."""
    path = env.str(f"{name}_FILE", default="")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return env.str(name, default=default)


DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "production", "test"}:
    raise ImproperlyConfigured("DJANGO_ENV must be development, production or test.")
PRODUCTION = DJANGO_ENV == "production"

# Under pytest, state (SQLite test database, broker queue, cache) goes to var/test, which the
# test suite's Celery worker processes share with it.
TESTING = DJANGO_ENV == "test" or "pytest" in sys.modules
VAR_DIR = Path(
    env.str("PORTAL_VAR_DIR", default=str(BASE_DIR / "var" / ("test" if TESTING else "")))
)

DEMO_SECRET_KEY = "demo-insecure-secret-key-do-not-use-in-production"
SECRET_KEY = env_secret("DJANGO_SECRET_KEY", default="" if PRODUCTION else DEMO_SECRET_KEY)
if PRODUCTION and (
    len(SECRET_KEY) < 50 or SECRET_KEY == DEMO_SECRET_KEY or "insecure" in SECRET_KEY
):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set to a random value of at least 50 characters in production."
    )

DEBUG = env.bool("DJANGO_DEBUG", default=False)
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
# Every absolute URL the portal sends (password reset, consent links) is built from
# PORTAL_BASE_URL, and by default only its host is served: a forged Host header gets a 400.
# In production only a PORTAL_BASE_URL that is actually set counts (the demo default does not).
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS",
    default=[urlsplit(PORTAL_BASE_URL).hostname]
    if not PRODUCTION or env.str("PORTAL_BASE_URL", default="")
    else [],
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[PORTAL_BASE_URL])
# Reverse proxies in front of the portal that append to X-Forwarded-For (0: clients connect
# directly). Rate limits and the audit log use the address the outermost trusted proxy saw.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
PORTAL_NAME = env.str("PORTAL_NAME", default="Contoso communications onboarding")
OPERATOR_NAME = env.str("OPERATOR_NAME", default="Contoso")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.microsoft",
    "portal",
    "audit",
    "tenants",
    "assignments",
    "notifications",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
]

MIDDLEWARE = [
    # Before anything reads the Host: probes answer whatever it is, then a bad one is a plain 400.
    "portal.middleware.RequestIdMiddleware",
    "portal.metrics_http.MetricsMiddleware",  # /metrics (token) and request timing by route
    "portal.middleware.HealthProbeMiddleware",
    "portal.middleware.AllowedHostMiddleware",
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
    "portal.middleware.DatabaseBusyMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

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
                "csp.context_processors.nonce",
                "portal.context_processors.portal",
            ],
        },
    },
]

# --- Data stores ---------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{(VAR_DIR / 'portal.sqlite3').as_posix()}"
    )
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default="") or None}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process and the Celery worker share the demo file. The
    # wait is short: past it a write gets a clear 503 (portal.middleware.DatabaseBusyMiddleware).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": env.float("SQLITE_BUSY_TIMEOUT", default=5.0),
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so Celery worker processes started by the tests see the same data.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-portal.sqlite3")}
# PostgreSQL roles (audit/db_roles.py, applied by every migrate, which runs as the owner): the
# portal's web and workers connect as DATABASE_APP_USER, which may read and append audit events
# but never change, delete or truncate them; retention deletes through a function owned by
# AUDIT_RETENTION_ROLE. DATABASE_APP_PASSWORD (or _FILE) sets the app role's password.
DATABASE_APP_USER = env.str("DATABASE_APP_USER", default="portal_app")
DATABASE_APP_PASSWORD = env_secret("DATABASE_APP_PASSWORD")
AUDIT_RETENTION_ROLE = env.str("AUDIT_RETENTION_ROLE", default="portal_audit_retention")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "portal.User"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        # Django's Redis cache that degrades to process memory while Redis is down (rate limits).
        "default": {"BACKEND": "portal.cache.FallbackRedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_DIR = VAR_DIR / "celery"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_RESULT_BACKEND = env.str(
    "CELERY_RESULT_BACKEND",
    default=REDIS_URL or f"file://{(CELERY_BROKER_DIR / 'results').as_posix()}",
)
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any]
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # A task not acknowledged within this time is redelivered to another worker.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULER = "portal.beat.HeartbeatScheduler"  # compose checks its heartbeat file
# Queues by who waits (portal/queues.py); a worker started without -Q consumes all of them.
CELERY_TASK_QUEUES = [Queue(name) for name in queues.ALL]
CELERY_TASK_DEFAULT_QUEUE = queues.INTERACTIVE
CELERY_TASK_ROUTES = ("portal.queues.route_task",)
VERIFY_INTERVAL_MINUTES = env.int("VERIFY_INTERVAL_MINUTES", default=60)
SYNC_INTERVAL_MINUTES = env.int("SYNC_INTERVAL_MINUTES", default=15)
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=400)
# Where the retention job writes gzipped JSON lines of events before deleting them.
AUDIT_ARCHIVE_DIR = Path(env.str("AUDIT_ARCHIVE_DIR", default=str(VAR_DIR / "audit-archive")))
CELERY_BEAT_SCHEDULE = {
    "reverify-tenants": {
        "task": "tenants.tasks.verify_all_tenants",
        "schedule": timedelta(minutes=VERIFY_INTERVAL_MINUTES),
    },
    "sync-resources": {
        "task": "assignments.tasks.sync_all_resources",
        "schedule": timedelta(minutes=SYNC_INTERVAL_MINUTES),
    },
    "audit-retention": {
        "task": "audit.tasks.apply_retention",
        "schedule": crontab(hour=3, minute=17),
    },
    "notify-relay": {"task": "notifications.tasks.relay_due", "schedule": timedelta(minutes=1)},
    "consent-reminders": {
        "task": "notifications.tasks.send_reminders",
        "schedule": timedelta(hours=1),
    },
    "credential-expiry": {
        "task": "notifications.tasks.watch_credentials",
        "schedule": crontab(hour=6, minute=7),
    },
}

# --- Microsoft (Entra ID, Graph, ACS). Pointing these at cloudsim is the demo. ----------------
# Declared one by one (not globals().update) so type checkers and readers see every name;
# tests re-apply the same function once cloudsim has its ports (tests/conftest.py).
_microsoft = microsoft_settings(lambda name, default: env_secret(name, default))
ENTRA_AUTHORITY_HOST: str = _microsoft["ENTRA_AUTHORITY_HOST"]
GRAPH_BASE_URL: str = _microsoft["GRAPH_BASE_URL"]
ENTRA_CLIENT_ID: str = _microsoft["ENTRA_CLIENT_ID"]
ENTRA_CLIENT_SECRET: str = _microsoft["ENTRA_CLIENT_SECRET"]
ENTRA_HOME_TENANT_ID: str = _microsoft["ENTRA_HOME_TENANT_ID"]
MICROSOFT_CA_BUNDLE: str = _microsoft["MICROSOFT_CA_BUNDLE"]
ACS_ENDPOINT_SUFFIXES: list[str] = _microsoft["ACS_ENDPOINT_SUFFIXES"]
ACS_ALLOWED_HOSTS: list[str] = _microsoft["ACS_ALLOWED_HOSTS"]
OUTBOUND_ALLOW_PRIVATE: bool = _microsoft["OUTBOUND_ALLOW_PRIVATE"]
ACS_KEY_ENV_PREFIX: str = _microsoft["ACS_KEY_ENV_PREFIX"]
ACS_KEY_ENV_VARS: list[str] = _microsoft["ACS_KEY_ENV_VARS"]
SOCIALACCOUNT_PROVIDERS: dict = _microsoft["SOCIALACCOUNT_PROVIDERS"]
CONTENT_SECURITY_POLICY: dict = _microsoft["CONTENT_SECURITY_POLICY"]
if _undeclared := set(_microsoft) - set(globals()):
    raise ImproperlyConfigured(f"Declare these Microsoft settings here: {sorted(_undeclared)}")
MICROSOFT_HTTP_TIMEOUT = env.float("MICROSOFT_HTTP_TIMEOUT", default=20.0)
# Automatic role for a home-tenant Microsoft user signing in without an invitation; empty = refuse.
ENTRA_AUTO_PROVISION_ROLE = env.str("ENTRA_AUTO_PROVISION_ROLE", default="")
ACS_CLIENTS_APP_ID = "2a04943b-b6a7-4f65-8786-2bb6131b59f6"
ACS_API_VERSION = env.str("ACS_API_VERSION", default="2025-03-02-preview")
# Sync: requests in flight per resource, entries per merge-patch, how long a run's lock lives
# without a heartbeat (a killed worker's resource is free again after this), debounce of changes.
ACS_SYNC_CONCURRENCY = env.int("ACS_SYNC_CONCURRENCY", default=8)
ACS_SYNC_BATCH_SIZE = env.int("ACS_SYNC_BATCH_SIZE", default=100)
ACS_SYNC_LOCK_SECONDS = env.int("ACS_SYNC_LOCK_SECONDS", default=120)
ACS_SYNC_DEBOUNCE_SECONDS = env.int("ACS_SYNC_DEBOUNCE_SECONDS", default=3)
# How long one ACS request may keep retrying (503s, 429s, dropped connections) before its
# entry fails, and when a follow-up run retries entries that failed only for such reasons.
ACS_SYNC_RETRY_SECONDS = env.float("ACS_SYNC_RETRY_SECONDS", default=120.0)
ACS_SYNC_RETRY_DELAY_SECONDS = env.int("ACS_SYNC_RETRY_DELAY_SECONDS", default=60)
# The outbox relay in every worker (portal/outbox.py): how often it re-sends work whose task
# never reached the broker or whose worker went away. A quarter of the lock's lifetime, so a
# killed run is replaced well within twice that lifetime.
OUTBOX_RELAY_SECONDS = env.float(
    "OUTBOX_RELAY_SECONDS", default=max(1.0, min(30.0, ACS_SYNC_LOCK_SECONDS / 4))
)
OUTBOX_SWEEPS = ["assignments.outbox.relay_sync_runs"]
CONSENT_LINK_DAYS = env.int("CONSENT_LINK_DAYS", default=14)
# standard: consent asks only the ACS Clients delegated permissions (Global, Application or
# Cloud application admin); deep: also Graph read application permissions (Global or Privileged
# Role admin) and the full Graph checks. docs/microsoft/consent-roles.md
VERIFICATION_LEVEL = env.str("PORTAL_VERIFICATION_LEVEL", default="deep")
CONSENT_STATE_MAX_AGE = env.int("CONSENT_STATE_MAX_AGE", default=30 * 60)
CONSENT_RATE_LIMIT = env.int("CONSENT_RATE_LIMIT", default=60)  # per client IP per minute
# Whom a customer admin asks for help: shown on every consent page that ends in "ask for a new
# link", beside the "Request a new link" button (which notifies `link.requested` subscribers at
# most CONSENT_LINK_REQUEST_LIMIT times per link per CONSENT_LINK_REQUEST_WINDOW seconds).
PORTAL_SUPPORT_EMAIL = env.str("PORTAL_SUPPORT_EMAIL", default="")
PORTAL_SUPPORT_URL = env.str("PORTAL_SUPPORT_URL", default="")
CONSENT_LINK_REQUEST_LIMIT = env.int("CONSENT_LINK_REQUEST_LIMIT", default=1)
CONSENT_LINK_REQUEST_WINDOW = env.int("CONSENT_LINK_REQUEST_WINDOW", default=3600)
# Demo only: lets the access check run a real token exchange with a simulated user's password.
CLOUDSIM_MODE = env.bool("CLOUDSIM_MODE", default=False)

# --- Authentication (django-allauth) --------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_ADAPTER = "portal.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "portal.adapters.SocialAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
# A new address (requested by an admin) replaces the old one only once confirmed from its mailbox.
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "reset_password": "5/m/ip,3/m/key",
}
ACCOUNT_SIGNUP_OPEN = env.bool("ACCOUNT_SIGNUP_OPEN", default=False)
SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_REQUESTS_TIMEOUT = MICROSOFT_HTTP_TIMEOUT
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
# allauth refuses TOTP while any address is unverified, against strangers who sign up with
# someone else's address. Sign-up is closed here (admins create every account), and a pending
# address change or a Microsoft sign-in left invited operators unable to turn MFA on at all.
MFA_ALLOW_UNVERIFIED_EMAIL = True
# Password sign-ins without TOTP are sent to set it up before any portal page (Microsoft
# sign-ins get their second factor from Entra ID, under the tenant's own policies).
PORTAL_REQUIRE_MFA = env.bool("PORTAL_REQUIRE_MFA", default=False)
MFA_TOTP_ISSUER = PORTAL_NAME

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Email --------------------------------------------------------------------------------
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = str(VAR_DIR / "mail")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="onboarding@contoso.example")
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
if env.str("EMAIL_URL", default=""):
    # smtp+tls://user:password@host:587 (django-environ's email_url) overrides the above.
    globals().update(env.email_url("EMAIL_URL"))

# --- Notifications (notifications/; README "Notifications") --------------------------------
WEBHOOK_ALLOWED_HOSTS = env.list("WEBHOOK_ALLOWED_HOSTS", default=[])
WEBHOOK_ALLOW_HTTP = env.bool("WEBHOOK_ALLOW_HTTP", default=not PRODUCTION)
if PRODUCTION and WEBHOOK_ALLOW_HTTP:
    raise ImproperlyConfigured("WEBHOOK_ALLOW_HTTP must be False in production.")
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=5.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
WEBHOOK_DISABLE_AFTER_FAILURES = env.int("WEBHOOK_DISABLE_AFTER_FAILURES", default=15)
WEBHOOK_SECRET_OVERLAP_HOURS = env.int("WEBHOOK_SECRET_OVERLAP_HOURS", default=24)
EMAIL_NOTIFY_MAX_ATTEMPTS = env.int("EMAIL_NOTIFY_MAX_ATTEMPTS", default=5)
NOTIFY_RETRY_BASE_SECONDS = env.int("NOTIFY_RETRY_BASE_SECONDS", default=30)
NOTIFY_RETRY_CAP_SECONDS = env.int("NOTIFY_RETRY_CAP_SECONDS", default=6 * 3600)
CONSENT_REMINDER_DAYS = [int(d) for d in env.list("CONSENT_REMINDER_DAYS", default=["2", "7"])]
CONSENT_REMINDER_BEFORE_EXPIRY_DAYS = env.int("CONSENT_REMINDER_BEFORE_EXPIRY_DAYS", default=1)
CONSENT_LINK_EXPIRING_DAYS = env.int("CONSENT_LINK_EXPIRING_DAYS", default=2)
CREDENTIAL_EXPIRY_WARN_DAYS = [
    int(d) for d in env.list("CREDENTIAL_EXPIRY_WARN_DAYS", default=["30", "7", "1"])
]

# --- Internationalisation, static files -----------------------------------------------------
LANGUAGE_CODE = "en-us"
# The customer admin's pages follow Accept-Language among these (tenants/consent_views.py);
# operator pages stay in LANGUAGE_CODE.
LANGUAGES = [
    ("en", "English"),
    ("de", "Deutsch"),
    ("fr", "Français"),
    ("es", "Español"),
    ("ja", "日本語"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Outside production WhiteNoise serves static/ straight from the source tree, so the demo runs
# without DEBUG and without collectstatic; production serves the collected, hashed files.
WHITENOISE_USE_FINDERS = not PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Operator API (api/): Django REST framework, OpenAPI 3.1 by drf-spectacular ------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.auth.TokenAuthentication",
        "api.auth.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.auth.RolePermission"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.PerClientThrottle"],
    # Per token (or signed-in user) per minute; counted in the database (portal.RateLimitWindow).
    "DEFAULT_THROTTLE_RATES": {"api": f"{env.int('API_RATE_LIMIT', default=600)}/min"},
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Cursor",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "api.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "api.problems.exception_handler",
    "URL_FORMAT_OVERRIDE": None,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ACS Entra onboarding portal API",
    "DESCRIPTION": "Register customer tenants, send consent links, assign access to ACS "
    "resources and read the audit log. Errors are RFC 9457 problem details (docs/api.md).",
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["api.auth.SignedIn"],
    "SERVE_AUTHENTICATION": [
        "api.auth.TokenAuthentication",
        "api.auth.SessionAuthentication",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "TenantStatusEnum": "tenants.models.TenantStatus",
        "VerificationLevelEnum": "tenants.models.VerificationLevel",
        "SyncStateEnum": "assignments.models.SyncState",
        "SyncStatusEnum": "assignments.models.SyncStatus",
    },
}

# --- Security -----------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if DEBUG:
        raise ImproperlyConfigured("DJANGO_DEBUG must be False in production.")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "PORTAL_BASE_URL (or DJANGO_ALLOWED_HOSTS) must name the portal's host in production."
        )

# --- Logging: one line per record, request id included, no secrets (see portal/logging.py). --
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="line")  # "json": one JSON object per line
if LOG_FORMAT not in {"line", "json"}:
    raise ImproperlyConfigured("LOG_FORMAT must be line or json.")

# --- Metrics (portal/metrics.py): /metrics answers only "Authorization: Bearer <token>". ----
METRICS_TOKEN = env_secret("METRICS_TOKEN", default="")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "portal.logging.RequestIdFilter"},
        "redact": {"()": "portal.logging.RedactSecretsFilter"},
    },
    "formatters": {
        "line": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # runserver's request lines (the demo's access log): through the redacting handler too.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        "msal": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "azure": {"level": "WARNING"},
    },
}
