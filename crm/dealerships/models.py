import zoneinfo

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import StaffRole


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


class Rooftop(models.Model):
    """One dealership (a showroom and/or workshop) of the dealer group."""

    name = models.CharField(_("name"), max_length=200)
    city = models.CharField(_("city"), max_length=120, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC", validators=[validate_timezone])
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    online_change_hours = models.PositiveSmallIntegerField(
        _("online changes until (hours before)"), default=24, validators=[MaxValueValidator(336)],
        help_text=_("Owners may move or cancel a workshop appointment in the portal until this many hours "
                    "before it; later, they call."))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("rooftop")
        verbose_name_plural = _("rooftops")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class OpeningHours(models.Model):
    """When a rooftop is open on a weekday, in the rooftop's own time zone. No row: closed that day."""

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="opening_hours", db_index=False)
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))

    class Meta:
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        ordering = ["weekday", "opens"]
        constraints = [
            models.UniqueConstraint(fields=["rooftop", "weekday"], name="one_opening_per_weekday"),
            models.CheckConstraint(condition=models.Q(opens__lt=models.F("closes")), name="opens_before_closes"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}\u2013{self.closes:%H:%M}"


def export_roles_default() -> list[str]:
    return [StaffRole.SALES_MANAGER.value, StaffRole.SERVICE_MANAGER.value]


class PrivacyRules(models.Model):
    """The dealer group's rules for who may take its customer data away (one row). Dealer admins always
    may: they set these rules."""

    export_roles = ArrayField(
        models.CharField(max_length=32, choices=StaffRole.choices), default=export_roles_default, blank=True,
        verbose_name=_("roles that may download customer lists"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("privacy rules")
        verbose_name_plural = _("privacy rules")

    def __str__(self) -> str:
        return str(_("Privacy rules"))

    @classmethod
    def current(cls) -> "PrivacyRules":
        """The row, or the defaults until a dealer admin saves it (no write on a read)."""
        return cls.objects.order_by("pk").first() or cls()
