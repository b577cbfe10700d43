"""Production: everything secret or addressable comes from the environment; HTTPS only."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .env import env

DEBUG = False

# One cache and one broker for every process: login throttling counted per gunicorn worker, or a
# queue in a container's own folder, would look like it works and would not.
if not REDIS_URL:
    raise ImproperlyConfigured("Set REDIS_URL: production needs a shared cache (login throttling, Wagtail).")
if CELERY_BROKER_URL.startswith("filesystem://"):
    raise ImproperlyConfigured("Set CELERY_BROKER_URL to Redis or RabbitMQ: the filesystem queue is for one machine.")

# Billing talks to the real Stripe: its keys come from the environment, and never localstripe.
for _name in ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET"):
    if not env(_name, default=""):
        raise ImproperlyConfigured(f"Set {_name}: sign-up and billing need the Stripe account's keys.")
if STRIPE_API_BASE:
    raise ImproperlyConfigured("Unset STRIPE_API_BASE: it points billing at a fake Stripe.")

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
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

STAFF_MFA_REQUIRED = env.bool("STAFF_MFA_REQUIRED", default=True)

WAGTAILADMIN_BASE_URL = env("WAGTAILADMIN_BASE_URL", default=f"https://{APP_DOMAIN}")
WAGTAIL_SITE_PORT = env.int("WAGTAIL_SITE_PORT", default=443)

vars().update(env.email_url("EMAIL_URL", default="smtp://localhost:25"))
