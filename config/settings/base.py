"""Settings shared by every environment. Secrets and addresses come from the environment only."""

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.dbpool import database_pool_configure

from .auth import *  # noqa: F403
from .billing import *  # noqa: F403
from .celery import *  # noqa: F403
from .env import BASE_DIR, env
from .observability import *  # noqa: F403
from .observability import log_format
from .security import *  # noqa: F403
from .tenancy import *  # noqa: F403
from .tenancy import SHARED_APPS, TENANT_APPS
from .wagtail import *  # noqa: F403

SECRET_KEY = env("DJANGO_SECRET_KEY")
DEBUG = env.bool("DJANGO_DEBUG", default=False)

APP_DOMAIN = env("APP_DOMAIN", default="localhost")
# The public site and every tenant subdomain; custom domains are added through the environment.
ALLOWED_HOSTS = [APP_DOMAIN, f".{APP_DOMAIN}", *env.list("DJANGO_EXTRA_ALLOWED_HOSTS", default=[])]

INSTALLED_APPS = [*SHARED_APPS, *(app for app in TENANT_APPS if app not in SHARED_APPS),
                  "config.observability"]  # no models: starts Sentry once settings are final

MIDDLEWARE = [
    # Outermost, touching no database: the request's id (response header, logs, Sentry, the tasks it sends), then
    # its count and time in the metrics, so every response counts, redirects and /health/ included.
    "config.observability.request_id.RequestIdMiddleware",
    "config.observability.metrics.MetricsMiddleware",
    # HTTPS redirect and security headers on every response (security.py), then /health/, which must answer
    # "database down" before resolving the tenant needs the database, and /metrics on the platform's host.
    "django.middleware.security.SecurityMiddleware",
    "config.csp.ContentSecurityPolicyMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "tenants.health.HealthCheckMiddleware",
    "config.observability.metrics.MetricsEndpointMiddleware",
    # Resolves the tenant from the host once per request and sets the schema, before anything that
    # reads the database.
    "django_tenants.middleware.main.TenantMainMiddleware",
    # Dates and times in the dealer group's time zone.
    "accounts.middleware.TenantTimezoneMiddleware",
    "accounts.bad_input.NulCharacterMiddleware",  # before the session: NUL in a path, query, cookie or form is 400
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: a signed-in person's preferred language counts.
    "accounts.middleware.TenantLocaleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.StaffMFAMiddleware",
    # After authentication: a suspended or read-only dealer group is told so, whoever asks.
    "tenants.billing.middleware.SubscriptionAccessMiddleware",
    # Innermost: an API POST with an Idempotency-Key and its stored answer commit together.
    "crm.integrations.idempotency.IdempotencyMiddleware",
]

# Webhooks go to public HTTPS addresses only; development and the tests post to servers on this machine.
WEBHOOK_ALLOW_PRIVATE_HOSTS = env.bool("WEBHOOK_ALLOW_PRIVATE_HOSTS", default=False)

# The integration API (/api/v1/) pages its lists by limit and offset (crm.integrations.api.base.Pages).
NINJA_PAGINATION_CLASS = "crm.integrations.api.base.Pages"
NINJA_PAGINATION_MAX_LIMIT = 200

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.tenant",
                "tenants.billing.context_processors.subscription",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

DATABASES = {"default": env.db("DATABASE_URL", engine="django_tenants.postgresql_backend")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A pool of connections per process (config/dbpool.py): on in production, here only with DATABASE_POOL=true.
database_pool_configure(DATABASES["default"], default=False)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: Redis when configured, else per-process memory. Every alias keys by schema, so Wagtail's
# site-root cache and anything else cached never crosses tenants.
REDIS_URL = env("REDIS_URL", default="")
_CACHE_BACKEND = (
    {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
)
CACHES = {"default": {**_CACHE_BACKEND, "KEY_FUNCTION": "django_tenants.cache.make_key"}}

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("ru", _("Russian")),
    ("zh-hans", _("Simplified Chinese")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

MEDIA_URL = "/media/"
MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / ".data" / "media"))
# Files land under MEDIA_ROOT/<schema>/ on disk, or with MEDIA_STORAGE=s3 under the <schema>/ prefix of a private
# bucket (tenants/storage.py); either way their URLs are the app's own /media/<schema>/…, built for the current schema.
MEDIA_STORAGE = env("MEDIA_STORAGE", default="filesystem")
_MEDIA_BACKENDS = {"filesystem": "django_tenants.files.storage.TenantFileSystemStorage",
                   "s3": "tenants.storage.TenantS3Storage"}
if MEDIA_STORAGE not in _MEDIA_BACKENDS:
    raise ImproperlyConfigured(f"MEDIA_STORAGE is {MEDIA_STORAGE!r}: set it to filesystem or s3.")
# S3: the bucket, and for another S3-compatible service (MinIO, Ceph, a cloud's S3 API) its endpoint. Credentials
# are read by django-storages and boto3 themselves: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the machine's role.
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_ENDPOINT_URL = env("AWS_S3_ENDPOINT_URL", default=None)
AWS_S3_REGION_NAME = env("AWS_S3_REGION_NAME", default=None)
AWS_S3_ADDRESSING_STYLE = env("AWS_S3_ADDRESSING_STYLE", default=None)  # "path" for most services but AWS's own
STORAGES = {
    "default": {"BACKEND": _MEDIA_BACKENDS[MEDIA_STORAGE]},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Host-only cookies: never the parent domain, or a session from one tenant would travel to another.
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
LANGUAGE_COOKIE_SAMESITE = "Lax"

# EMAIL_URL sets backend, host, port, user, password and TLS at once, e.g.
# smtp+tls://user:password@smtp.example.com:587 (django-environ); the console locally.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
# Seconds an SMTP connection may wait on the server: without it (Django's default is None) a server that stops
# answering holds the worker, and the message it was sending, forever.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
PLATFORM_NAME = "DealerCRM"  # how the platform signs what it sends from its own host
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="DealerCRM <no-reply@localhost>")
# SMS: crm.marketing.sms.ConsoleBackend (development), FileBackend (a file per message in SMS_FILE_PATH) or
# TwilioBackend (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM).
SMS_BACKEND = env("SMS_BACKEND", default="crm.marketing.sms.ConsoleBackend")
SMS_FILE_PATH = env("SMS_FILE_PATH", default=str(BASE_DIR / ".data" / "sms"))
TWILIO_API_BASE = env("TWILIO_API_BASE", default="https://api.twilio.com")
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM = env("TWILIO_FROM", default="")
# A marketing message still "sending" after this long was interrupted, and is delivered again with its key;
# one interrupted this many times is marked failed instead (the provider may have taken it every time).
MESSAGE_RESEND_AFTER_SECONDS = env.int("MESSAGE_RESEND_AFTER_SECONDS", default=120)
MESSAGE_SEND_ATTEMPTS = env.int("MESSAGE_SEND_ATTEMPTS", default=3)
# One campaign task sends about this many seconds of the campaign's rate, then queues the next chunk.
CAMPAIGN_CHUNK_SECONDS = env.int("CAMPAIGN_CHUNK_SECONDS", default=60)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # "json" (production's default): one object per line with tenant, user id, request id and task
    # (config.observability.logs); "plain" for people reading a terminal.
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
                   "json": {"()": "config.observability.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": log_format("plain")}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # Wagtail logs every page edit, django-tasks every background step and Stripe's library every request at INFO.
    "loggers": {name: {"level": "WARNING"} for name in ("wagtail", "django_tasks", "stripe")},
}
