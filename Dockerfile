# syntax=docker/dockerfile:1
# The production image: one image runs web (gunicorn), the Celery worker and beat. See platform/README.md.
#
#   docker build -t dealercrm .
#   docker compose -f platform/compose.yaml up

# ---- build: the pinned runtime dependencies, into a virtualenv the runtime stage copies ---------------
FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN python -m venv /opt/venv
# Only the runtime set: the development tools in requirements/dev.txt never enter the image.
COPY requirements/base.txt /tmp/requirements/base.txt
RUN /opt/venv/bin/pip install -r /tmp/requirements/base.txt

# ---- runtime: the project, its compiled translations and collected static files, run as non-root ------
FROM python:3.11-slim AS runtime

ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    MEDIA_ROOT=/var/lib/dealercrm/media

# The app user owns only the media folder (a volume in compose; Docker gives a new named volume the
# folder's owner). The code stays root-owned, so the running process cannot rewrite it.
RUN groupadd --system --gid 10001 dealercrm \
    && useradd --system --uid 10001 --gid dealercrm --create-home --home-dir /home/dealercrm \
       --shell /usr/sbin/nologin dealercrm \
    && install -d -o dealercrm -g dealercrm /var/lib/dealercrm/media

COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY . .

# Translations, static files (production settings, no runtime secret: see the script), bytecode.
RUN sh platform/build.sh

# Numeric, so Kubernetes' runAsNonRoot can verify it.
USER 10001:10001

EXPOSE 8000

# /health/: 200 when the database, the cache and the broker answer (any host will do); slim has no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen(u.Request('http://127.0.0.1:8000/health/', headers={'Host': os.environ.get('APP_DOMAIN', 'localhost')}), timeout=4)"]

CMD ["gunicorn", "--config", "platform/gunicorn.conf.py", "config.wsgi:application"]
