"""The workshop: repair orders with their job lines, and the work customers declined."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.customers.models import Company, Person, Vehicle
from crm.dealerships.models import Rooftop


class JobCategory(models.TextChoices):
    MAINTENANCE = "maintenance", _("Maintenance")
    REPAIR = "repair", _("Repair")
    WARRANTY = "warranty", _("Warranty")
    BODY = "body", _("Body and paint")
    TYRES = "tyres", _("Tyres")
    ACCESSORIES = "accessories", _("Accessories")


# A repeat repair: the same category of work on the same car within this many days.
REPEAT_WINDOW_DAYS = 30


class ServiceVisit(models.Model):
    """A repair order: a car at a rooftop, its customer, the advisor, the work and what it cost."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    rooftop = models.ForeignKey(Rooftop, verbose_name=_("rooftop"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="visits")
    vehicle = models.ForeignKey(Vehicle, verbose_name=_("vehicle"), on_delete=models.PROTECT, related_name="visits")
    person = models.ForeignKey(Person, verbose_name=_("customer"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="visits")
    company = models.ForeignKey(Company, verbose_name=_("company"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="visits")
    advisor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("service advisor"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="visits")
    order_number = models.CharField(_("repair order number"), max_length=60, blank=True)
    opened_on = models.DateField(_("opened"))
    closed_on = models.DateField(_("closed"), null=True, blank=True)
    mileage = models.PositiveIntegerField(_("mileage (km)"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    labour_amount = models.DecimalField(_("labour"), max_digits=12, decimal_places=2, default=Decimal(0))
    parts_amount = models.DecimalField(_("parts"), max_digits=12, decimal_places=2, default=Decimal(0))
    total_amount = models.DecimalField(_("total"), max_digits=12, decimal_places=2, default=Decimal(0))
    repeat_of = models.ForeignKey("self", verbose_name=_("repeat of"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="repeats")
    source_ref = models.CharField(max_length=120, blank=True)  # the DMS's reference when imported
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("service visit")
        verbose_name_plural = _("service visits")
        ordering = ["-opened_on", "-pk"]
        constraints = [models.UniqueConstraint(fields=["source_ref"], condition=~models.Q(source_ref=""),
                                               name="visit_source_once")]
        indexes = [
            models.Index(fields=["vehicle", "opened_on"]),
            models.Index(fields=["rooftop", "opened_on"]),
            models.Index(fields=["advisor", "opened_on"]),
            models.Index(fields=["person", "opened_on"]),
            models.Index(fields=["status", "opened_on"]),
            models.Index(fields=["opened_on"], condition=models.Q(repeat_of__isnull=False), name="visit_repeats"),
        ]

    def __str__(self) -> str:
        return f"{self.order_number or self.pk} · {self.vehicle}"


class JobLine(models.Model):
    class Kind(models.TextChoices):
        LABOUR = "labour", _("Labour")
        PART = "part", _("Part")

    visit = models.ForeignKey(ServiceVisit, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    category = models.CharField(_("category"), max_length=12, choices=JobCategory.choices)
    description = models.CharField(_("description"), max_length=300)
    quantity = models.DecimalField(_("quantity"), max_digits=10, decimal_places=2, default=Decimal(1))
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2, default=Decimal(0))
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2, default=Decimal(0))
    labour_hours = models.DecimalField(_("labour hours"), max_digits=6, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name = _("job line")
        verbose_name_plural = _("job lines")
        ordering = ["pk"]
        indexes = [models.Index(fields=["category", "visit"])]

    def __str__(self) -> str:
        return self.description


class DeclinedRecommendation(models.Model):
    """Work the workshop recommended and the customer declined: followed up, and bookable later."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CONTACTED = "contacted", _("Contacted")
        BOOKED = "booked", _("Booked")
        DONE = "done", _("Done")
        LOST = "lost", _("Not wanted")

    visit = models.ForeignKey(ServiceVisit, on_delete=models.CASCADE, related_name="declined")
    vehicle = models.ForeignKey(Vehicle, on_delete=models.CASCADE, related_name="declined_work")
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="declined_work")
    category = models.CharField(_("category"), max_length=12, choices=JobCategory.choices)
    description = models.CharField(_("description"), max_length=300)
    estimate = models.DecimalField(_("estimate"), max_digits=12, decimal_places=2, null=True, blank=True)
    follow_up_on = models.DateField(_("follow up on"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    note = models.CharField(_("note"), max_length=300, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("declined recommendation")
        verbose_name_plural = _("declined recommendations")
        ordering = ["follow_up_on", "pk"]
        indexes = [models.Index(fields=["status", "follow_up_on"])]

    def __str__(self) -> str:
        return self.description
