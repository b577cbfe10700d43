"""The platform's side of tenancy: a dealer group is a tenant with its own PostgreSQL schema."""

import uuid
import zoneinfo

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.utils import get_public_schema_name

# A DNS label: lowercase letters, digits and inner hyphens, 3 to 40 characters.
slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$",
    _("Use 3 to 40 lowercase letters, digits or hyphens, starting and ending with a letter or digit."),
)


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


class DealerGroupStatus(models.TextChoices):
    """What the dealer group may do, following its subscription (changed only by tenants.billing)."""

    TRIAL = "trial", _("Trial")
    ACTIVE = "active", _("Active")
    PAST_DUE = "past_due", _("Past due")
    SUSPENDED = "suspended", _("Suspended")


class BillingInterval(models.TextChoices):
    MONTH = "month", _("Monthly")
    YEAR = "year", _("Yearly")


class Plan(models.Model):
    """What a dealer group can subscribe to: priced per rooftop, monthly or yearly, with limits.

    The Stripe plan ids are derived from the code, interval and currency, so `billing_plans_sync`
    can create them in Stripe idempotently and every environment names them the same way.
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=60)
    # Marketing copy per language code ("en", "ru", "zh-hans"); English is the fallback.
    tagline = models.JSONField(_("tagline"), default=dict, blank=True)
    features = models.JSONField(_("features"), default=dict, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    monthly_price = models.PositiveIntegerField(_("monthly price per rooftop (cents)"))
    yearly_price = models.PositiveIntegerField(_("yearly price per rooftop (cents)"))
    max_rooftops = models.PositiveSmallIntegerField(_("rooftops at most"), null=True, blank=True,
                                                    help_text=_("Empty: no limit."))
    seats_per_rooftop = models.PositiveSmallIntegerField(_("staff seats per rooftop"), default=10)
    trial_days = models.PositiveSmallIntegerField(_("trial days"), default=14)
    is_public = models.BooleanField(_("on the pricing page"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["position", "monthly_price"]

    def __str__(self) -> str:
        return self.name

    def stripe_plan_id(self, interval: str) -> str:
        return f"dealercrm-{self.code}-{interval}-{self.currency.lower()}"

    def unit_price(self, interval: str) -> int:
        return self.yearly_price if interval == BillingInterval.YEAR else self.monthly_price

    def seats(self, rooftops: int) -> int:
        return self.seats_per_rooftop * max(rooftops, 1)

    def text(self, field: str, language: str) -> object:
        """The plan's copy in a language, else in English."""
        values = getattr(self, field) or {}
        return values.get(language) or values.get(language.split("-")[0]) or values.get("en") or ""


class DealerGroup(TenantMixin):
    """A customer of the platform: one dealer group, all its rooftops, one schema."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("subdomain"), max_length=40, unique=True, validators=[slug_validator])
    country = models.CharField(_("country"), max_length=2, help_text=_("ISO 3166-1 alpha-2 code"))
    # Where else its customers come from (ISO codes): phones written without a country code are read as
    # numbers of these after the group's own country. Dealer admins edit it (Settings → Customer data).
    customer_countries = ArrayField(models.CharField(max_length=2), default=list, blank=True,
                                    verbose_name=_("customers also come from"))
    default_language = models.CharField(
        _("default language"), max_length=10, choices=settings.LANGUAGES, default="en"
    )
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC", validators=[validate_timezone])
    currency = models.CharField(_("currency"), max_length=3, default="EUR", help_text=_("ISO 4217 code"))
    status = models.CharField(
        _("status"), max_length=16, choices=DealerGroupStatus.choices, default=DealerGroupStatus.TRIAL, db_index=True
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    # The subscription, as last read from Stripe (tenants.billing writes these, nothing else does).
    plan = models.ForeignKey(Plan, verbose_name=_("plan"), null=True, blank=True, on_delete=models.PROTECT,
                             related_name="dealer_groups")
    billing_interval = models.CharField(_("billing interval"), max_length=5, choices=BillingInterval.choices,
                                        default=BillingInterval.MONTH)
    rooftops_paid = models.PositiveSmallIntegerField(_("rooftops paid for"), default=1)
    stripe_customer_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True, db_index=True)
    subscription_status = models.CharField(_("subscription status"), max_length=32, blank=True)
    trial_ends_at = models.DateTimeField(_("trial ends"), null=True, blank=True)
    current_period_end = models.DateTimeField(_("current period ends"), null=True, blank=True)
    cancel_at_period_end = models.BooleanField(_("cancels at period end"), default=False)
    past_due_since = models.DateTimeField(_("past due since"), null=True, blank=True)
    suspended_at = models.DateTimeField(_("suspended"), null=True, blank=True)
    billing_synced_at = models.DateTimeField(null=True, blank=True)
    # The latest staff sign-in, read by the daily KPI snapshot job (the platform never queries a schema live).
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)

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

    @property
    def is_platform(self) -> bool:
        """The platform's own row (the public schema: sign-up, HQ, the operator console), not a dealer group."""
        return self.schema_name == get_public_schema_name()

    @property
    def mrr_cents(self) -> int:
        """Monthly recurring revenue: the plan's price per rooftop for the rooftops paid, a year's price over 12;
        nothing while on trial, past its end or suspended."""
        if self.plan is None or self.status != DealerGroupStatus.ACTIVE:
            return 0
        if self.billing_interval == BillingInterval.YEAR:
            return self.plan.yearly_price * self.rooftops_paid // 12
        return self.plan.monthly_price * self.rooftops_paid

    @property
    def rooftop_limit(self) -> int | None:
        """How many rooftops the subscription pays for; None without a plan (no limit)."""
        return self.rooftops_paid if self.plan_id else None

    @property
    def seat_limit(self) -> int | None:
        """How many active staff the plan allows for the rooftops paid for; None without a plan."""
        return self.plan.seats(self.rooftops_paid) if self.plan_id else None

    @staticmethod
    def schema_name_for(slug: str) -> str:
        return "t_" + slug.replace("-", "_")


class Domain(DomainMixin):
    class Meta:
        verbose_name = _("domain")
        verbose_name_plural = _("domains")


class StripeEvent(models.Model):
    """A webhook event, recorded once, in the same transaction as its effect."""

    id = models.CharField(primary_key=True, max_length=255)
    type = models.CharField(max_length=100)
    dealer_group = models.ForeignKey(DealerGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class Signup(models.Model):
    """One pass through the sign-up wizard, from the first step to a provisioned, subscribed tenant.

    The password is kept hashed, never in clear. Until provisioning succeeds there is no tenant
    and no schema; the Stripe customer made for the card is deleted if the sign-up fails or is
    abandoned (``billing_cleanup``).
    """

    class State(models.TextChoices):
        CARD = "card", _("waiting for the card")
        PROVISIONING = "provisioning", _("setting up")
        DONE = "done", _("ready")
        FAILED = "failed", _("failed")
        ABANDONED = "abandoned", _("abandoned")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.CARD, db_index=True)
    name = models.CharField(_("dealer group name"), max_length=200)
    country = models.CharField(_("country"), max_length=2)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    rooftops = models.PositiveSmallIntegerField(_("rooftops"))
    slug = models.CharField(_("subdomain"), max_length=40, db_index=True)
    admin_email = models.EmailField(_("e-mail"))
    admin_password = models.CharField(max_length=128)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    interval = models.CharField(max_length=5, choices=BillingInterval.choices, default=BillingInterval.MONTH)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    setup_intent_id = models.CharField(max_length=255, blank=True)
    dealer_group = models.ForeignKey(DealerGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    message = models.TextField(blank=True)
    login_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    login_token_expires_at = models.DateTimeField(null=True, blank=True)
    login_token_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("sign-up")
        verbose_name_plural = _("sign-ups")

    def __str__(self) -> str:
        return f"{self.slug} ({self.state})"


class BillingEmail(models.Model):
    """An e-mail about billing sent to a dealer group's admins: recorded, so a retry never sends twice."""

    class Kind(models.TextChoices):
        WELCOME = "welcome", _("welcome")
        TRIAL_ENDING = "trial_ending", _("trial ending")
        PAYMENT_FAILED = "payment_failed", _("payment failed")
        SUSPENDED = "suspended", _("suspended")
        PURGE_WARNING = "purge_warning", _("data deleted soon")
        DATA_EXPORT_READY = "data_export_ready", _("data download ready")

    dealer_group = models.ForeignKey(DealerGroup, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=64, help_text="What occasion this is for, e.g. the date the trial ends.")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dealer_group", "kind", "key"], name="billing_email_once")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class DataExport(models.Model):
    """A ZIP of CSV files with a dealer group's customer data, built for its dealer admin
    (``tenants.billing.data_export``). The file lives in the group's own storage (``MEDIA_ROOT/<schema>/exports/``,
    a folder the media view never serves); only a dealer admin on the group's own host fetches it."""

    class State(models.TextChoices):
        BUILDING = "building", _("being prepared")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")

    dealer_group = models.ForeignKey(DealerGroup, on_delete=models.CASCADE, related_name="+")
    requested_by = models.EmailField()  # the admin, by address: their account lives in the group's schema
    requested_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.BUILDING)
    file = models.CharField(max_length=200, blank=True)  # the path in the group's storage
    size = models.PositiveBigIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [models.UniqueConstraint(fields=["dealer_group"], condition=models.Q(state="building"),
                                               name="data_export_one_at_a_time")]

    def __str__(self) -> str:
        return f"{self.dealer_group_id} {self.requested_at:%Y-%m-%d %H:%M} {self.state}"


class SnapshotPeriod(models.TextChoices):
    DAY = "day", _("Day")
    MONTH = "month", _("Month")


# The KPIs a snapshot row holds: the keys of crm.analytics.kpis.KPIS (a test keeps the two the same; the
# platform's models do not import the CRM).
SNAPSHOT_KPIS = (
    "customers", "active_vehicles", "retention_rate", "visits", "average_ticket", "prospects_h", "prospects_a",
    "prospects_b", "prospects_c", "conversion", "lead_response_hours", "club_members", "referrals",
    "referral_conversion", "data_completeness", "duplicate_rate", "stale_contacts", "csi", "nps", "survey_integrity",
    "reminder_conversion", "followup_on_time", "club_participation", "campaign_response",
)


def _figure() -> models.DecimalField:
    return models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)


class KpiSnapshot(models.Model):
    """One dealer group's KPIs for one rooftop (or the whole group: no rooftop) and one period, written by
    the snapshot task from inside the group's schema. Numbers and a rooftop's id only: no personal data
    ever leaves a tenant schema, so HQ pages read these rows and nothing else."""

    dealer_group = models.ForeignKey(DealerGroup, on_delete=models.CASCADE, related_name="kpi_snapshots")
    rooftop_id = models.PositiveIntegerField(null=True, blank=True)  # the rooftop's id inside the group's schema
    period = models.CharField(max_length=5, choices=SnapshotPeriod.choices)
    period_start = models.DateField()
    period_end = models.DateField()  # a month's row covers the month to date until the month is over
    computed_at = models.DateTimeField()
    # The KPIs, as docs/kpis.md defines them; empty where there was nothing to divide by.
    customers = _figure()
    active_vehicles = _figure()
    retention_rate = _figure()
    visits = _figure()
    average_ticket = _figure()
    prospects_h = _figure()
    prospects_a = _figure()
    prospects_b = _figure()
    prospects_c = _figure()
    conversion = _figure()
    lead_response_hours = _figure()
    club_members = _figure()
    referrals = _figure()
    referral_conversion = _figure()
    data_completeness = _figure()
    duplicate_rate = _figure()
    stale_contacts = _figure()
    csi = _figure()
    nps = _figure()
    survey_integrity = _figure()
    reminder_conversion = _figure()
    followup_on_time = _figure()
    club_participation = _figure()
    campaign_response = _figure()

    class Meta:
        verbose_name = _("KPI snapshot")
        verbose_name_plural = _("KPI snapshots")
        constraints = [models.UniqueConstraint(fields=["dealer_group", "rooftop_id", "period", "period_start"],
                                               nulls_distinct=False, name="kpi_snapshot_once")]
        indexes = [models.Index(fields=["period", "period_start"], name="kpi_snapshot_period")]

    def __str__(self) -> str:
        return f"{self.dealer_group_id}/{self.rooftop_id or '-'} {self.period} {self.period_start}"


class HqOrganisation(models.Model):
    """A brand, an importer or a group head office that compares the dealer groups sharing with it."""

    class Kind(models.TextChoices):
        BRAND = "brand", _("Brand")
        IMPORTER = "importer", _("Importer")
        HEAD_OFFICE = "head_office", _("Group head office")

    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    country = models.CharField(_("country"), max_length=2, blank=True, help_text=_("ISO 3166-1 alpha-2 code"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("HQ organisation")
        verbose_name_plural = _("HQ organisations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class HqAnalyst(models.Model):
    """A platform-host user who works for an HQ organisation and sees its dashboard (numbers only)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="hq_analyst")
    organisation = models.ForeignKey(HqOrganisation, on_delete=models.CASCADE, related_name="analysts")

    class Meta:
        verbose_name = _("HQ analyst")
        verbose_name_plural = _("HQ analysts")

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.organisation}"


class HqShare(models.Model):
    """A dealer group's choice to let an HQ see its KPI snapshots. Withdrawing stops the sharing from that
    day: the HQ keeps only the periods that ended before it."""

    dealer_group = models.ForeignKey(DealerGroup, on_delete=models.CASCADE, related_name="hq_shares")
    organisation = models.ForeignKey(HqOrganisation, on_delete=models.CASCADE, related_name="shares")
    granted_at = models.DateTimeField()
    granted_by = models.EmailField()  # the dealer admin, by address: their account lives in the group's schema
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.EmailField(blank=True)

    class Meta:
        verbose_name = _("HQ share")
        verbose_name_plural = _("HQ shares")
        ordering = ["-granted_at"]
        constraints = [models.UniqueConstraint(fields=["dealer_group", "organisation"],
                                               condition=models.Q(withdrawn_at__isnull=True),
                                               name="hq_share_once")]

    def __str__(self) -> str:
        return f"{self.dealer_group_id} → {self.organisation_id}"
