import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

application = get_wsgi_application()

# The web process refuses to start on an incomplete production environment (a no-op elsewhere).
from config.checks import production_environment_verify  # noqa: E402 - after the settings are chosen

production_environment_verify()
