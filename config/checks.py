"""What a production process needs from its environment, checked when it starts rather than at import.

``config.settings.production`` turns the check on. It runs where Django runs its system checks
(``manage.py check``, ``migrate_all`` before every deploy, ``runserver``), and the web process
(``config.wsgi``) and Celery's worker and beat (``config.celery``) run it as they start. Settings import
never demands these values: the image's build steps (``collectstatic``, translations) run the
production settings with no runtime secret in reach. Registered on import; ``config.celery`` imports it,
and the ``config`` package imports ``config.celery`` before Django sets up.
"""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

_STRIPE_KEYS = ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET")


def production_environment_errors() -> list[checks.Error]:
    """Every missing or unsafe value at once, so one failed start names all of them."""
    if not getattr(settings, "PRODUCTION_ENVIRONMENT_REQUIRED", False):
        return []
    errors = []
    # One cache and one broker for every process: login throttling counted per gunicorn worker, or a
    # queue in a container's own folder, would look like it works and would not.
    if not settings.REDIS_URL:
        errors.append(checks.Error(
            "Set REDIS_URL: production needs a shared cache (login throttling, Wagtail).", id="config.E001"))
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        errors.append(checks.Error(
            "Set CELERY_BROKER_URL to Redis or RabbitMQ: the filesystem queue is for one machine.", id="config.E002"))
    # Billing talks to the real Stripe: its keys come from the environment, and never localstripe.
    errors.extend(
        checks.Error(f"Set {name}: sign-up and billing need the Stripe account's keys.", id="config.E003")
        for name in _STRIPE_KEYS if not getattr(settings, name)
    )
    # Production answers behind a TLS-terminating proxy (SECURE_PROXY_SSL_HEADER): without being told
    # about it, every visitor has the proxy's address, and ten wrong passwords from anyone lock a whole
    # dealer group out. Running without one must be said out loud.
    if settings.TRUSTED_PROXY_COUNT < 1 and not settings.CLIENT_IP_DIRECT:
        errors.append(checks.Error(
            "Set CLIENT_IP_HEADER and TRUSTED_PROXY_COUNT for the proxy in front of the app (e.g. X-Forwarded-For "
            "and 1), or CLIENT_IP_DIRECT=true if clients connect to it directly.", id="config.E005"))
    if settings.MEDIA_STORAGE == "s3" and not settings.AWS_STORAGE_BUCKET_NAME:
        errors.append(checks.Error(
            "Set AWS_STORAGE_BUCKET_NAME: MEDIA_STORAGE=s3 keeps uploads in that bucket.", id="config.E006"))
    if settings.STRIPE_API_BASE:
        errors.append(checks.Error("Unset STRIPE_API_BASE: it points billing at a fake Stripe.", id="config.E004"))
    return errors


@checks.register("production")
def production_environment(app_configs: object = None, **kwargs: object) -> list[checks.Error]:
    return production_environment_errors()


def production_environment_verify() -> None:
    """Refuse to go on when the environment is incomplete; a no-op outside production settings."""
    errors = production_environment_errors()
    if errors:
        raise ImproperlyConfigured(" ".join(error.msg for error in errors))
