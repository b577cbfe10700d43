"""The owners' club: one set of rules per dealer group, tiers, members, a points ledger and vouchers.

Points are a ledger, never a counter: a balance is the sum of a member's entries, every entry says
why, and an entry made by the nightly accrual carries a ``source_key`` (the visit, the referral, the
event) so accruing twice writes nothing twice.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import translation
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from crm.customers.models import Person
from crm.customers.services import tenant_language
from crm.dealerships.models import Rooftop
from crm.service.models import ServiceVisit


class ClubRules(models.Model):
    """The dealer group's club: its terms and how points and referral rewards are earned."""

    class TierBasis(models.TextChoices):
        POINTS = "points", _("Points earned in the last 12 months")
        SPEND = "spend", _("Service spend in the last 12 months")

    class ReferralTrigger(models.TextChoices):
        PURCHASE = "purchase", _("When the friend takes delivery of a car")
        FIRST_VISIT = "first_visit", _("When the friend first comes to the workshop")
        EITHER = "either", _("Whichever comes first")

    class ReferralReward(models.TextChoices):
        POINTS = "points", pgettext_lazy("reward", "Points")
        VOUCHER = "voucher", pgettext_lazy("reward", "A voucher")

    name = models.CharField(_("club name"), max_length=120)
    enabled = models.BooleanField(_("owners can join"), default=True)
    terms = models.TextField(_("club terms"))
    terms_version = models.PositiveIntegerField(default=1, editable=False)
    spend_per_point = models.DecimalField(
        _("service spend for one point"), max_digits=10, decimal_places=2, default=Decimal(100),
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("A closed workshop visit earns one point for each such amount of its total."))
    tier_basis = models.CharField(_("tiers by"), max_length=8, choices=TierBasis.choices, default=TierBasis.POINTS)
    referral_trigger = models.CharField(_("reward a referral"), max_length=12, choices=ReferralTrigger.choices,
                                        default=ReferralTrigger.EITHER)
    referral_reward = models.CharField(_("referral reward"), max_length=8, choices=ReferralReward.choices,
                                       default=ReferralReward.POINTS)
    referral_points = models.PositiveIntegerField(_("points for a referral"), default=500,
                                                  validators=[MaxValueValidator(1_000_000)])
    referral_voucher = models.CharField(_("voucher for a referral"), max_length=200, blank=True,
                                        help_text=_("What the voucher gives, e.g. “A free car wash”."))
    event_points = models.PositiveIntegerField(_("points for coming to a club event"), default=100,
                                               validators=[MaxValueValidator(1_000_000)])
    voucher_valid_days = models.PositiveIntegerField(_("vouchers valid for (days)"), default=180,
                                                     validators=[MinValueValidator(1), MaxValueValidator(3650)])
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("club rules")
        verbose_name_plural = _("club rules")

    def __str__(self) -> str:
        return self.name

    @classmethod
    def current(cls) -> "ClubRules":
        """The group's rules, made with the default tiers and rewards in its language the first time."""
        rules = cls.objects.order_by("pk").first()
        if rules is not None:
            return rules
        with translation.override(tenant_language()):
            rules, created = cls.objects.get_or_create(pk=1, defaults={
                "name": gettext("Owners' club"),
                "terms": gettext(
                    "Membership is free and personal. You earn points for workshop visits, for friends you "
                    "recommend and for coming to club events, and you can exchange them for vouchers. Points "
                    "cannot be exchanged for cash. You can leave the club at any time; unused points lapse "
                    "when you leave."),
                "referral_voucher": gettext("A free car wash")})
            if created:
                Tier.objects.bulk_create([
                    Tier(name=gettext("Silver"), threshold=Decimal(0), benefits=gettext("Points on every visit.")),
                    Tier(name=gettext("Gold"), threshold=Decimal(1000),
                         benefits=gettext("A courtesy car on request.")),
                    Tier(name=gettext("Platinum"), threshold=Decimal(3000),
                         benefits=gettext("Pick-up and delivery for every service visit.")),
                ])
                Reward.objects.bulk_create([
                    Reward(name=gettext("Car wash"), points_cost=300),
                    Reward(name=gettext("Air-conditioning service"), points_cost=1500),
                    # xgettext:no-python-format
                    Reward(name=gettext("10% off your next service"), points_cost=2000),
                ])
        return rules


class Tier(models.Model):
    """A level of membership reached at a threshold (points or spend, as the rules say)."""

    name = models.CharField(_("name"), max_length=60)
    threshold = models.DecimalField(_("from"), max_digits=12, decimal_places=2, validators=[MinValueValidator(0)])
    benefits = models.TextField(_("benefits"), blank=True)

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["threshold", "pk"]
        constraints = [models.UniqueConstraint(fields=["threshold"], name="tier_threshold_once")]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A customer in the club: joined on these terms, with a card number staff can look up."""

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="club_membership")
    number = models.CharField(_("card number"), max_length=12, unique=True)
    joined_at = models.DateTimeField(_("joined"))
    terms_version = models.PositiveIntegerField()
    left_at = models.DateTimeField(_("left"), null=True, blank=True)

    class Meta:
        verbose_name = _("club member")
        verbose_name_plural = _("club members")
        ordering = ["-joined_at"]

    def __str__(self) -> str:
        return self.number

    @property
    def is_active(self) -> bool:
        return self.left_at is None


class PointsEntry(models.Model):
    """One line of a member's points ledger: earned (positive) or spent (negative), and why."""

    class Kind(models.TextChoices):
        SERVICE = "service", _("Workshop visit")
        REFERRAL = "referral", _("Recommended a friend")
        EVENT = "event", _("Club event")
        ADJUSTMENT = "adjustment", _("Adjustment")
        REDEMPTION = "redemption", _("Exchanged for a voucher")
        REFUND = "refund", _("Voucher cancelled")
        LAPSE = "lapse", _("Left the club")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="points", db_index=False)
    points = models.IntegerField(_("points"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    note = models.CharField(_("reason"), max_length=300, blank=True)
    source_key = models.CharField(max_length=60, blank=True)
    visit = models.ForeignKey(ServiceVisit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    voucher = models.ForeignKey("Voucher", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("date"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["source_key"], condition=~models.Q(source_key=""),
                                    name="points_source_once"),
            models.CheckConstraint(condition=~models.Q(points=0), name="points_not_zero"),
        ]
        indexes = [models.Index(fields=["person", "created_at"])]

    def __str__(self) -> str:
        return f"{self.points:+d} {self.get_kind_display()}"


class Reward(models.Model):
    """What points can be exchanged for: a voucher the workshop honours."""

    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    points_cost = models.PositiveIntegerField(_("points"), validators=[MinValueValidator(1)])
    active = models.BooleanField(_("offered"), default=True)

    class Meta:
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")
        ordering = ["points_cost", "pk"]

    def __str__(self) -> str:
        return self.name


class Voucher(models.Model):
    """A voucher with a code the CRM checks and redeems once, until it expires."""

    class Source(models.TextChoices):
        POINTS = "points", _("Exchanged for points")
        REFERRAL = "referral", _("Reward for a referral")

    code = models.CharField(_("code"), max_length=12, unique=True)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="vouchers", db_index=False)
    description = models.CharField(_("gives"), max_length=200)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    source_key = models.CharField(max_length=60, blank=True)
    points_cost = models.PositiveIntegerField(default=0)
    issued_at = models.DateTimeField(_("issued"))
    valid_until = models.DateField(_("valid until"))
    redeemed_at = models.DateTimeField(_("redeemed"), null=True, blank=True)
    redeemed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    redeemed_rooftop = models.ForeignKey(Rooftop, verbose_name=_("redeemed at"), null=True, blank=True,
                                         on_delete=models.SET_NULL, related_name="+")
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("voucher")
        verbose_name_plural = _("vouchers")
        ordering = ["-issued_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["source_key"], condition=~models.Q(source_key=""),
                                               name="voucher_source_once")]
        indexes = [models.Index(fields=["person", "issued_at"])]

    def __str__(self) -> str:
        return self.code
