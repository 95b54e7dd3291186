"""HabitPact settings: one module, configured from the environment.

Every variable is read through a small helper that fails loudly on a bad value, so a
typo in production stops the deploy instead of silently falling back to a default.
"""

import os
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent

# python-telegram-bot: durations as timedelta now, as its next major version will have them
# (delivery.py reads either form); silences its deprecation warning.
os.environ.setdefault("PTB_TIMEDELTA", "1")


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"Set the environment variable {name}.")
    return value


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


TESTING = "pytest" in sys.modules or (len(sys.argv) > 1 and sys.argv[1] == "test")

# --- .env (local run) ------------------------------------------------------------------
# python-dotenv only loads KEY=value lines into os.environ; the env_* helpers above stay
# the one place values are parsed and checked (django-environ would bring a second
# parser). A variable set in the environment wins over the file. ENV_FILE names another
# file. The test suite never reads it: tests must not depend on a developer's .env.
if not TESTING:
    load_dotenv(os.environ.get("ENV_FILE") or BASE_DIR / ".env", override=False)

DEBUG = env_bool("DJANGO_DEBUG", default=False)

# Local use (debug, tests, or the zero-setup SQLite database) may run on a throwaway key;
# anything else is production and must be given one.
LOCAL = DEBUG or TESTING or not os.environ.get("DATABASE_URL")
DEV_SECRET_KEY = "insecure-dev-key-only-for-local-use"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", DEV_SECRET_KEY if LOCAL else None)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver" if LOCAL else "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "django_q",
    "habitpact",
    "outbox",
    "pacts",
    "ledger",
    "telegram_bot",
]

MIDDLEWARE = [
    "habitpact.logging.RequestIdMiddleware",
    "habitpact.metrics.ApiLatencyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "habitpact.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "habitpact.i18n.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "habitpact.urls"
WSGI_APPLICATION = "habitpact.wsgi.application"
ASGI_APPLICATION = "habitpact.asgi.application"

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
    }
]

# SQLite when DATABASE_URL is unset, so a newcomer needs no server.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers wait for each other instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

AUTH_USER_MODEL = "pacts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Rule 18: the languages we ship catalogs for (locale/<lang>/LC_MESSAGES/django.po,
# compiled to .mo by `manage.py catalogs compile`); habitpact/i18n.py picks one per user.
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("ru", "Русский"),
    ("es", "Español"),
    ("pt-br", "Português (Brasil)"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if TESTING or DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Telegram -------------------------------------------------------------------------
TELEGRAM_BOT_TOKEN = env_str("TELEGRAM_BOT_TOKEN", "123456:TEST-TOKEN" if TESTING else "")
TELEGRAM_BOT_USERNAME = env_str("TELEGRAM_BOT_USERNAME", "HabitPactBot")
TELEGRAM_WEBHOOK_SECRET = env_str("TELEGRAM_WEBHOOK_SECRET", "")
TELEGRAM_API_URL = env_str("TELEGRAM_API_URL", "https://api.telegram.org").rstrip("/")
WEBAPP_URL = env_str("WEBAPP_URL", "http://localhost:8000").rstrip("/")
INIT_DATA_MAX_AGE_SECONDS = env_int("INIT_DATA_MAX_AGE_SECONDS", 86400)
JWT_SECRET = env_str("JWT_SECRET", SECRET_KEY)
# The dev key is public (it is in this file): tokens signed with it can be forged, so only
# DEBUG or the tests may use it. A server (wsgi.py / asgi.py) refuses to start otherwise,
# e.g. DJANGO_DEBUG=0 on SQLite without DJANGO_SECRET_KEY or JWT_SECRET.
JWT_SECRET_IS_PUBLIC = JWT_SECRET == DEV_SECRET_KEY and not (DEBUG or TESTING)

# --- JSON API (/api/v1, habitpact/api.py) --------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["habitpact.api.TelegramAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["habitpact.ratelimit.SpecRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["habitpact.api.BoundedJSONParser"],
    "EXCEPTION_HANDLER": "habitpact.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Proxies in front of the app that append to X-Forwarded-For (1 on Heroku-style
    # hosts); 0 = use the socket's address, so clients cannot pick their own rate key.
    "NUM_PROXIES": env_int("TRUSTED_PROXY_COUNT", 0),
}
# Spec §13 limits per user (per IP before sign-in), counted in the database
# (habitpact/ratelimit.py), alike for the API, the Mini App and bot buttons (rule 16),
# plus the admin sign-in page per IP and per username. Off in the test suite; the
# rate-limit tests switch it on.
RATE_LIMIT_ENABLED = env_bool("RATE_LIMIT_ENABLED", default=not TESTING)
RATE_LIMITS = {  # scope: (requests, window in seconds)
    "auth": (10, 60),
    "checkin": (5, 60),
    "dispute": (3, 60),
    "read": (100, 60),
    "write": (30, 60),
    "admin_login": (10, 15 * 60),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "HabitPact API",
    "DESCRIPTION": (
        "Habit pacts between two friends (spec v1.1 §7). Sign in with POST /auth/telegram "
        "and send `Authorization: Bearer <token>`. Errors are "
        '`{"error": {"code", "message", "details"}}` with the codes of spec §12.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from drf-spectacular-sidecar's static files: no CDN, works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "PactStatusEnum": "pacts.models.Pact.Status",
        "DayStatusEnum": "pacts.models.PactDay.Status",
        "RoleEnum": "pacts.models.PactParticipant.Role",
        "ParticipantStatusEnum": "pacts.models.PactParticipant.Status",
        "SettlementStatusEnum": "ledger.models.Settlement.Status",
    },
}

# --- Jobs: django-q2 on the ORM broker (PostgreSQL in production, no Redis) ------------
# The broker delivers at least once: timeout < retry, bounded attempts, idempotent tasks.
Q_CLUSTER = {
    "name": "habitpact",
    "orm": "default",
    "workers": env_int("Q_WORKERS", 2),
    "timeout": 90,
    "retry": 120,
    "max_attempts": 3,
    "catch_up": False,
    "sync": TESTING,
    "save_limit": 500,
}

# --- Production security: HTTPS behind the host's TLS-terminating router -----------------
# Procfile hosts (Heroku, Railway, Render, Dokku...) pass the original scheme in
# X-Forwarded-Proto. Each setting can be overridden; production defaults to strict.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("TRUST_X_FORWARDED_PROTO", not LOCAL) else None
)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not LOCAL)
SECURE_REDIRECT_EXEMPT = [r"^health$"]  # platform health checks call over plain HTTP
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if LOCAL else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not LOCAL)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not LOCAL)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", not LOCAL)
SESSION_COOKIE_HTTPONLY = True
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Site-wide CSP (habitpact/security.py); Mini App pages add their own frame-ancestors.
if os.environ.get("CONTENT_SECURITY_POLICY") is not None:
    CONTENT_SECURITY_POLICY = os.environ["CONTENT_SECURITY_POLICY"]

# --- Observability --------------------------------------------------------------------
# /metrics (habitpact/metrics.py): `Authorization: Bearer <METRICS_TOKEN>`; unset = off
# (open only under DEBUG).
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# One JSON object per line (habitpact/logging.py) in production; under DEBUG (the local
# run) `LEVEL logger event key=value` lines a person can read.
LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG else "json")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "habitpact.logging.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "habitpact.logging.JsonFormatter"},
        "text": {"()": "habitpact.logging.TextFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own loggers print through ours, once, in the same format.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
    },
}
if DEBUG:
    # The local run's console: django-q2's per-task chatter (enqueued, processing,
    # processed) hides what matters; each job still logs its own `job_finished` line.
    LOGGING["filters"]["task_chatter"] = {"()": "habitpact.logging.QuietTaskChatter"}
    LOGGING["loggers"]["django-q"] = {"filters": ["task_chatter"]}
