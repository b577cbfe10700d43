"""pytest: fast hashing, in-memory e-mail; the database and broker are the real ones."""

import os

from .env import BASE_DIR, env

os.environ.setdefault("DJANGO_SECRET_KEY", "test-key-not-for-production")
# The suite's own queue folders and queue name: a `make run` worker never takes a test's task.
os.environ.setdefault("CELERY_DATA_DIR", str(BASE_DIR / ".data" / "celery-test"))

from .base import *  # noqa: F403

CELERY_TASK_DEFAULT_QUEUE = "dealercrm-test"
BULK_QUEUE, BILLING_QUEUE = "dealercrm-test-bulk", "dealercrm-test-billing"
CELERY_TASK_ROUTES = task_routes(BULK_QUEUE, BILLING_QUEUE)
WORKER_QUEUES = (CELERY_TASK_DEFAULT_QUEUE, BULK_QUEUE, BILLING_QUEUE)
# The suite's worker process connects to the test database pytest-django created.
if env("TEST_WORKER_DATABASE_NAME", default=""):
    DATABASES["default"]["NAME"] = env("TEST_WORKER_DATABASE_NAME")

# A configured Redis may be shared with `make run`: this run's keys are its own.
CACHES["default"]["KEY_PREFIX"] = f"test-{os.getpid()}"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DATABASES["default"]["CONN_MAX_AGE"] = 0
# Uploads of the suite (import files) stay out of the demo's media folder.
MEDIA_ROOT = str(BASE_DIR / ".data" / "media-test")
# The suite signs up many groups from 127.0.0.1; the limit itself is tested with its own address.
SIGNUP_RATE_PER_HOUR = 1000
# The test process's "today" is the one a request on the main cast group's host (Europe/Berlin) sees,
# so dates a test computes and dates a view computes agree at any hour of the day.
TIME_ZONE = "Europe/Berlin"
# Text messages of the suite go to a file of their own.
SMS_BACKEND = "crm.marketing.sms.FileBackend"
SMS_FILE_PATH = env("SMS_FILE_PATH", default=str(BASE_DIR / ".data" / "sms-test"))
WEBHOOK_ALLOW_PRIVATE_HOSTS = True
