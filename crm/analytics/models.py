"""Computed segments of each customer, recomputed nightly and on demand by one set-based statement."""

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.customers.models import Person


class Action(models.TextChoices):
    """What the value x churn-risk grid says to do with a customer."""

    PREVENTION = "prevention", _("Prevention")  # high value, low risk: keep them happy
    RETENTION = "retention", _("Retention")  # high value, high risk: win them back now
    MAINTENANCE = "maintenance", _("Maintenance")  # lower value, low risk
    WIN_BACK = "win_back", _("Win-back")  # lower value, high risk


class CarAge(models.TextChoices):
    A = "A", _("A: up to 3 years")
    B = "B", _("B: 3 to 8 years")
    C = "C", _("C: older than 8 years")


class CustomerSegment(models.Model):
    person = models.OneToOneField(Person, primary_key=True, on_delete=models.CASCADE, related_name="segment")
    recency = models.PositiveSmallIntegerField(_("recency (1-5)"), null=True)
    frequency = models.PositiveSmallIntegerField(_("frequency (1-5)"), null=True)
    monetary = models.PositiveSmallIntegerField(_("monetary (1-5)"), null=True)
    high_value = models.BooleanField(_("high value"), default=False)
    high_risk = models.BooleanField(_("high churn risk"), default=False)
    action = models.CharField(_("action"), max_length=12, choices=Action.choices, blank=True)
    car_age = models.CharField(_("car age"), max_length=1, choices=CarAge.choices, blank=True)
    lost = models.BooleanField(_("lost"), default=False)
    last_visit_on = models.DateField(_("last visit"), null=True)
    visits_3y = models.PositiveIntegerField(_("visits in 3 years"), default=0)
    spend_3y = models.DecimalField(_("spend in 3 years"), max_digits=14, decimal_places=2, default=Decimal(0))
    computed_at = models.DateTimeField()  # when these values were computed (a run that changes none keeps it)

    class Meta:
        verbose_name = _("customer segment")
        verbose_name_plural = _("customer segments")
        indexes = [
            models.Index(fields=["action", "high_value", "high_risk"]),
            models.Index(fields=["car_age"]),
            models.Index(fields=["lost", "last_visit_on"]),
            models.Index(fields=["recency", "frequency", "monetary"]),
        ]

    def __str__(self) -> str:
        return f"{self.person_id}: {self.action or '-'}"

    @property
    def rfm(self) -> str:
        return f"{self.recency}{self.frequency}{self.monetary}" if self.recency else ""


class SegmentsRun(models.Model):
    """The last recomputation of the group's segments (one row): when, for how many customers, and how many of
    them changed segment (only those rows are rewritten)."""

    computed_at = models.DateTimeField()
    customers = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("segment computation")
        verbose_name_plural = _("segment computations")

    def __str__(self) -> str:
        return f"{self.computed_at:%Y-%m-%d %H:%M}: {self.changed} of {self.customers}"
