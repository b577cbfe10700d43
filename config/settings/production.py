"""Production: everything secret or addressable comes from the environment; HTTPS only."""

from config.dbpool import database_pool_configure

from .base import *  # noqa: F403
from .env import env

DEBUG = False

# Redis as cache and broker, and the Stripe account's keys, are checked when a process starts
# (config.checks: manage.py check, migrate_all, the web process, Celery), not here: the image's build
# steps import these settings with no runtime secret (docs/decisions.md, "The production shape runs").
PRODUCTION_ENVIRONMENT_REQUIRED = True

# A Redis or a PostgreSQL that stops answering fails a request (and /health/) within seconds instead of
# holding a web thread until the kernel gives up on the connection.
if REDIS_URL:
    CACHES["default"]["OPTIONS"] = {"socket_connect_timeout": 2, "socket_timeout": 2}
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT",
                                                                                     default=5))
# A pool of connections per process, sized from the environment (config/dbpool.py, platform/README.md);
# DATABASE_POOL=false for PgBouncer in session mode in front instead.
database_pool_configure(DATABASES["default"], default=True)

# Static files straight from the app server, compressed and cache-busted, right after security.
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                  "whitenoise.middleware.WhiteNoiseMiddleware")
STORAGES["staticfiles"] = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

STAFF_MFA_REQUIRED = env.bool("STAFF_MFA_REQUIRED", default=True)

TENANT_WARM_POOL_SIZE = env.int("TENANT_WARM_POOL_SIZE", default=3)
# One JSON object per log line unless LOG_FORMAT says otherwise; Sentry's events say "production".
LOGGING["handlers"]["console"]["formatter"] = log_format("json")
SENTRY_ENVIRONMENT = env("SENTRY_ENVIRONMENT", default="production")

WAGTAILADMIN_BASE_URL = env("WAGTAILADMIN_BASE_URL", default=f"https://{APP_DOMAIN}")
WAGTAIL_SITE_PORT = env.int("WAGTAIL_SITE_PORT", default=443)

vars().update(env.email_url("EMAIL_URL", default="smtp://localhost:25"))
