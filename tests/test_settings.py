"""Production settings pass Django's deployment checks; secrets come only from the environment."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "x" * 30 + "-a-long-random-production-secret-value-from-the-environment",
    "DATABASE_URL": "postgres://dealercrm@db.invalid/dealercrm",
    "REDIS_URL": "redis://cache.invalid:6379/0",
    "CELERY_BROKER_URL": "redis://cache.invalid:6379/1",
    "APP_DOMAIN": "dealercrm.example",
    "STRIPE_SECRET_KEY": "sk_live_from_the_environment",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_from_the_environment",
    "STRIPE_WEBHOOK_SECRET": "whsec_from_the_environment",
    "CLIENT_IP_HEADER": "X-Forwarded-For",
    "TRUSTED_PROXY_COUNT": "1",
}


# What a process started here must not take from the environment of the one running the suite.
OURS = ("DJANGO_", "DATABASE_URL", "APP_DOMAIN", "REDIS_URL", "CELERY_", "STRIPE_", "CLIENT_IP_", "TRUSTED_PROXY_",
        "TEST_WORKER")


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(OURS)}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def test_production_settings_pass_check_deploy():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("variable", ["DJANGO_SECRET_KEY", "REDIS_URL", "CELERY_BROKER_URL", "STRIPE_SECRET_KEY",
                                      "STRIPE_WEBHOOK_SECRET"])
def test_production_refuses_to_start_without_its_servers_and_secret(variable):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != variable}

    result = run_manage("check", env=env)

    assert result.returncode != 0
    assert variable in result.stderr


def test_production_refuses_to_start_not_knowing_about_the_proxy_in_front():
    """Behind a proxy that nobody named, every visitor has its address: ten wrong passwords from anyone would
    lock a whole dealer group out. Production asks for the proxy, or to be told there is none."""
    unnamed = {k: v for k, v in PRODUCTION_ENV.items() if k not in ("CLIENT_IP_HEADER", "TRUSTED_PROXY_COUNT")}

    refused = run_manage("check", env=unnamed)
    direct = run_manage("check", env={**unnamed, "CLIENT_IP_DIRECT": "true"})

    assert refused.returncode != 0 and "TRUSTED_PROXY_COUNT" in refused.stderr
    assert direct.returncode == 0, direct.stdout + direct.stderr
