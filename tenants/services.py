"""Writes on dealer groups. Provisioning is the only way a tenant schema comes into being."""

import logging
import time
import zoneinfo
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context, schema_exists

from .cloning import schema_clone
from .models import DealerGroup, DealerGroupStatus, Domain
from .pool import schema_take

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProvisionedTenant:
    dealer_group: DealerGroup
    admin_email: str
    seconds: float


def slug_validate(slug: str) -> str:
    """Return the normalised subdomain or raise ValidationError saying what is wrong with it."""
    slug = (slug or "").strip().lower()
    DealerGroup._meta.get_field("slug").run_validators(slug)
    if slug in settings.RESERVED_SLUGS or DealerGroup.schema_name_for(slug) == settings.TENANT_BASE_SCHEMA:
        raise ValidationError(_("“%(slug)s” is reserved. Please choose another subdomain."), params={"slug": slug},
                              code="reserved")
    if DealerGroup.objects.filter(slug=slug).exists() or schema_exists(DealerGroup.schema_name_for(slug)):
        raise ValidationError(_("The subdomain “%(slug)s” is already taken."), params={"slug": slug}, code="taken")
    return slug


def dealer_group_create(
    *,
    name: str,
    slug: str,
    country: str,
    default_language: str = "en",
    timezone: str = "UTC",
    currency: str = "EUR",
    admin_email: str,
    admin_password: str | None,
    admin_first_name: str = "",
    admin_last_name: str = "",
    status: str = DealerGroupStatus.TRIAL,
    rooftops: int = 0,
) -> ProvisionedTenant:
    """Provision a dealer group: its row, its domain, its schema (cloned), its site, first admin and the
    ``rooftops`` it said it has.

    All of it happens in one transaction: PostgreSQL DDL is transactional, so a failure at any
    step leaves no row, no domain and no schema behind. The connection is back on the public
    schema afterwards, whatever happened.
    """
    from cms.services import site_configure
    from crm.core.services import rooftops_create, staff_user_create
    from crm.marketing.automations import automations_defaults_create

    started = time.perf_counter()
    slug = slug_validate(slug)
    group = DealerGroup(
        name=name.strip(),
        slug=slug,
        schema_name=DealerGroup.schema_name_for(slug),
        country=country.upper(),
        default_language=default_language,
        timezone=timezone,
        currency=currency.upper(),
        status=status,
    )
    group.full_clean(exclude=["schema_name", "slug"])
    try:
        with transaction.atomic():
            connection.set_schema_to_public()
            group.save()
            Domain.objects.create(domain=group.primary_host, tenant=group, is_primary=True)
            took_from_pool = schema_take(group.schema_name)
            if not took_from_pool:
                _schema_clone(group.schema_name)
            with schema_context(group.schema_name), translation.override(default_language):
                site_configure(hostname=group.primary_host, site_name=group.name)
                admin = staff_user_create(
                    email=admin_email,
                    password=admin_password,
                    role="dealer_admin",
                    first_name=admin_first_name,
                    last_name=admin_last_name,
                    preferred_language=default_language,
                )
                automations_defaults_create(today=datetime.now(zoneinfo.ZoneInfo(timezone)).date())
                if rooftops:
                    rooftops_create(group_name=group.name, count=rooftops, timezone=timezone)
    except IntegrityError as error:
        connection.set_schema_to_public()
        if not DealerGroup.objects.filter(slug=slug).exists():
            raise
        # Another sign-up took the same subdomain between our check and our insert.
        raise ValidationError(_("The subdomain “%(slug)s” is already taken."), params={"slug": slug},
                              code="taken") from error
    finally:
        connection.set_schema_to_public()
    seconds = time.perf_counter() - started
    if took_from_pool:
        from config.celery import enqueue_on_commit

        from .tasks import warm_pool_refill

        enqueue_on_commit(warm_pool_refill)
    logger.info("provisioned dealer group %s (%s) in %.2fs%s", group.slug, group.schema_name, seconds,
                " from the warm pool" if took_from_pool else "")
    return ProvisionedTenant(dealer_group=group, admin_email=admin.email, seconds=seconds)


def _schema_clone(schema_name: str) -> None:
    """Copy the pre-migrated template schema, data included (migration records, Wagtail's tree).

    ``clone_schema()`` is installed in public by ``migrate_all``; it is not re-created here, so
    concurrent provisionings do not race on ``CREATE OR REPLACE FUNCTION``.
    """
    base = settings.TENANT_BASE_SCHEMA
    if not schema_exists(base):
        raise RuntimeError(f"The template schema {base!r} is missing: run `manage.py migrate_all`.")
    schema_clone(base, schema_name)
