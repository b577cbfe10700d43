"""pytest: fast hashing, in-memory e-mail; the database and broker are the real ones."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-key-not-for-production")

from .base import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
