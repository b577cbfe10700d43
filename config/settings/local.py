"""`make run`: debug on, a fixed development key, e-mails printed to the console."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "local-development-key-not-for-production")

from .base import *  # noqa: F403
from .env import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
WEBHOOK_ALLOW_PRIVATE_HOSTS = True
