#!/bin/sh
# The image's build steps, run by the Dockerfile and by the CI smoke run (config/smoke.py) alike, from
# the project root with the runtime virtualenv's python first on PATH.
#
# They import the production settings, which demand no runtime secret at import (config/checks.py
# checks those when a process starts): the two values Django cannot import settings without are
# placeholders that exist for these commands only, and the in-memory broker keeps the settings from
# creating the serverless queue folders inside the image.
set -eu
cd "$(dirname "$0")/.."

# Translations: locale/*/LC_MESSAGES/*.po -> .mo with polib (no system gettext in the image).
python -m config.devstack messages

DJANGO_SETTINGS_MODULE=config.settings.production \
DJANGO_SECRET_KEY=build-only-not-a-secret \
DATABASE_URL=postgres://build@build.invalid/build \
CELERY_BROKER_URL=memory:// \
    python manage.py collectstatic --noinput --verbosity 0

python -m compileall -q .
