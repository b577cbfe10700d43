"""Schema-per-tenant: which apps live in public, which in every dealer group's schema."""

from .env import env

SHARED_APPS = [
    "django_tenants",
    "django.contrib.postgres",
    "tenants",
    "accounts",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
]

# auth and contenttypes must be tenant apps too, or Wagtail's initial groups land in public and
# creating a tenant fails at wagtailcore.0090. Users and sessions live per schema.
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "accounts",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "wagtail.contrib.forms",
    "wagtail.contrib.settings",
    "wagtail.contrib.simple_translation",
    "wagtail.locale",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "cms",
    "crm.dealerships",
    "crm.core",
    "crm.customers",
    "crm.service",
    "crm.analytics",
    "crm.surveys",
    "crm.sales",
    "crm.marketing",
    "crm.loyalty",
    "crm.integrations",
    "ninja",
    "portal",
]

TENANT_MODEL = "tenants.DealerGroup"
TENANT_DOMAIN_MODEL = "tenants.Domain"
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
# Set search_path only when the schema changes, not before every query.
TENANT_LIMIT_SET_CALLS = True

ROOT_URLCONF = "config.urls_tenant"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
# An unknown host is a 404, never the public site or another tenant.
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False

# New tenants are cloned from this pre-migrated schema (about a second) instead of migrated (10+ s).
# `manage.py migrate_all` keeps it migrated alongside the tenants.
TENANT_CREATION_FAKES_MIGRATIONS = True
TENANT_BASE_SCHEMA = "tenant_template"
# Schemas cloned ahead of sign-ups (tenants.pool): a new group takes one instead of waiting for the clone.
# Off (0) unless set; production keeps 3 unless told otherwise.
TENANT_WARM_POOL_SIZE = env.int("TENANT_WARM_POOL_SIZE", default=0)

# Slugs a dealer group cannot take: they are hosts we use, or would confuse customers.
RESERVED_SLUGS = frozenset(
    {
        "admin", "api", "app", "assets", "billing", "blog", "cdn", "cms", "crm", "dashboard",
        "dev", "docs", "ftp", "help", "hq", "imap", "mail", "media", "my", "ns1", "ns2", "pop",
        "portal", "public", "signup", "smtp", "staging", "static", "status", "stripe", "support",
        "test", "www",
    }
)

# pg_dump and pg_restore for `group_export` / `group_restore` (tenants.backup): their folder, when the ones on the
# PATH are older than the server (pg_dump refuses a newer server). The embedded PostgreSQL sets its own.
POSTGRES_BIN_DIR = env("POSTGRES_BIN_DIR", default="")
