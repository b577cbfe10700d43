"""The platform's side of tenancy: a dealer group is a tenant with its own PostgreSQL schema."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin

# A DNS label: lowercase letters, digits and inner hyphens, 3 to 40 characters.
slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$",
    _("Use 3 to 40 lowercase letters, digits or hyphens, starting and ending with a letter or digit."),
)


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


class DealerGroupStatus(models.TextChoices):
    TRIAL = "trial", _("Trial")
    ACTIVE = "active", _("Active")
    PAST_DUE = "past_due", _("Past due")
    SUSPENDED = "suspended", _("Suspended")


class DealerGroup(TenantMixin):
    """A customer of the platform: one dealer group, all its rooftops, one schema."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("subdomain"), max_length=40, unique=True, validators=[slug_validator])
    country = models.CharField(_("country"), max_length=2, help_text=_("ISO 3166-1 alpha-2 code"))
    default_language = models.CharField(
        _("default language"), max_length=10, choices=settings.LANGUAGES, default="en"
    )
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC", validators=[validate_timezone])
    currency = models.CharField(_("currency"), max_length=3, default="EUR", help_text=_("ISO 4217 code"))
    status = models.CharField(
        _("status"), max_length=16, choices=DealerGroupStatus.choices, default=DealerGroupStatus.TRIAL, db_index=True
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    # Provisioning creates the schema itself, inside its own transaction (tenants.services).
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        verbose_name = _("dealer group")
        verbose_name_plural = _("dealer groups")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def primary_host(self) -> str:
        return f"{self.slug}.{settings.APP_DOMAIN}"

    @staticmethod
    def schema_name_for(slug: str) -> str:
        return "t_" + slug.replace("-", "_")


class Domain(DomainMixin):
    class Meta:
        verbose_name = _("domain")
        verbose_name_plural = _("domains")
