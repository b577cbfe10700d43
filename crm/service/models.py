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
                                on_delete=models.SET_NULL, related_name="visits", db_index=False)
    vehicle = models.ForeignKey(Vehicle, verbose_name=_("vehicle"), on_delete=models.PROTECT, related_name="visits",
                                db_index=False)
    person = models.ForeignKey(Person, verbose_name=_("customer"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="visits", db_index=False)
    company = models.ForeignKey(Company, verbose_name=_("company"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="visits")
    advisor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("service advisor"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="visits", db_index=False)
    # The advisor as another system wrote them when no member of staff has that name.
    advisor_name = models.CharField(_("service advisor (as written)"), max_length=150, blank=True)
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

    visit = models.ForeignKey(ServiceVisit, on_delete=models.CASCADE, related_name="lines", db_index=False)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    category = models.CharField(_("category"), max_length=12, choices=JobCategory.choices)
    description = models.CharField(_("description"), max_length=300)
    quantity = models.DecimalField(_("quantity"), max_digits=10, decimal_places=2, default=Decimal(1))
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2, default=Decimal(0))
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2, default=Decimal(0))
    labour_hours = models.DecimalField(_("labour hours"), max_digits=6, decimal_places=2, null=True, blank=True)
    # The line's key within its order in the system it came from (a DMS file, the API); none when typed here.
    source_key = models.CharField(max_length=80, null=True, blank=True, editable=False)  # noqa: DJ001 - see Meta

    class Meta:
        verbose_name = _("job line")
        verbose_name_plural = _("job lines")
        ordering = ["pk"]
        indexes = [models.Index(fields=["category", "visit"])]
        # Not partial (NULLs never clash): INSERT … ON CONFLICT (visit_id, source_key) must find it.
        constraints = [models.UniqueConstraint(fields=["visit", "source_key"], name="job_line_source_once")]

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

    visit = models.ForeignKey(ServiceVisit, on_delete=models.CASCADE, related_name="declined", db_index=False)
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
    source_key = models.CharField(max_length=80, null=True, blank=True, editable=False)  # noqa: DJ001 - as on JobLine

    class Meta:
        verbose_name = _("declined recommendation")
        verbose_name_plural = _("declined recommendations")
        ordering = ["follow_up_on", "pk"]
        indexes = [models.Index(fields=["status", "follow_up_on"])]
        constraints = [models.UniqueConstraint(fields=["visit", "source_key"], name="declined_source_once")]

    def __str__(self) -> str:
        return self.description


# Bookable capacity ---------------------------------------------------------------------------------
# One model serves the CRM and the owner portal. The database itself refuses overbooking: every
# booking is a conditional UPDATE of a slot's seats and of the day's labour hours, each guarded by a
# CHECK constraint, inside one transaction.


# The service types every new dealer group starts with; their names follow the reader's language
# until the dealer names them.
STANDARD_SERVICES = {
    "maintenance": _("Maintenance package"),
    "tyres": _("Tyre change"),
    "inspection": _("Inspection"),
    "repair": _("Repair or diagnosis"),
}


class ServiceType(models.Model):
    name = models.CharField(_("name"), max_length=100, blank=True)
    code = models.SlugField(_("code"), max_length=40, unique=True)
    labour_hours = models.DecimalField(_("labour hours"), max_digits=5, decimal_places=2, default=Decimal(1))
    online_bookable = models.BooleanField(_("bookable online"), default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("service type")
        verbose_name_plural = _("service types")
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name or str(STANDARD_SERVICES.get(self.code, self.code))


class CapacityRule(models.Model):
    """A rooftop's daily workshop capacity for a service type, and how many customers the
    reception takes per slot; the online share is what the portal may book of both."""

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="capacity_rules", db_index=False)
    service_type = models.ForeignKey(ServiceType, on_delete=models.CASCADE, related_name="capacity_rules")
    daily_hours = models.DecimalField(_("labour hours a day"), max_digits=6, decimal_places=2)
    online_share = models.PositiveSmallIntegerField(_("share bookable online (%)"), default=50)

    class Meta:
        verbose_name = _("capacity rule")
        verbose_name_plural = _("capacity rules")
        constraints = [
            models.UniqueConstraint(fields=["rooftop", "service_type"], name="one_rule_per_type"),
            models.CheckConstraint(condition=models.Q(online_share__lte=100), name="online_share_percent"),
        ]

    def __str__(self) -> str:
        return f"{self.rooftop} · {self.service_type}"


class Closure(models.Model):
    """A day a rooftop's workshop is closed (public holiday, stocktaking): no slots that day."""

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="closures", db_index=False)
    day = models.DateField(_("day"))
    reason = models.CharField(_("reason"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("closure")
        verbose_name_plural = _("closures")
        constraints = [models.UniqueConstraint(fields=["rooftop", "day"], name="closure_once")]

    def __str__(self) -> str:
        return f"{self.rooftop} {self.day}"


class Slot(models.Model):
    """A time a rooftop's reception takes cars, with seats (how many customers at once)."""

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="slots", db_index=False)
    starts_at = models.DateTimeField(_("starts"))
    capacity = models.PositiveSmallIntegerField(_("seats"))
    online_capacity = models.PositiveSmallIntegerField(_("seats bookable online"))
    booked = models.PositiveSmallIntegerField(default=0)
    online_booked = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("slot")
        verbose_name_plural = _("slots")
        ordering = ["starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["rooftop", "starts_at"], name="slot_once"),
            models.CheckConstraint(condition=models.Q(booked__lte=models.F("capacity")), name="slot_not_overbooked"),
            models.CheckConstraint(condition=models.Q(online_booked__lte=models.F("online_capacity")),
                                   name="slot_online_not_overbooked"),
            models.CheckConstraint(condition=models.Q(online_capacity__lte=models.F("capacity")),
                                   name="slot_online_within_capacity"),
        ]

    def __str__(self) -> str:
        return f"{self.rooftop} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def free(self) -> int:
        return self.capacity - self.booked


class DayLoad(models.Model):
    """The labour hours a rooftop can take on one day for one service type, and those booked."""

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    service_type = models.ForeignKey(ServiceType, on_delete=models.CASCADE, related_name="+")
    hours_capacity = models.DecimalField(max_digits=6, decimal_places=2)
    hours_online = models.DecimalField(max_digits=6, decimal_places=2)
    hours_booked = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal(0))
    hours_booked_online = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal(0))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rooftop", "day", "service_type"], name="day_load_once"),
            models.CheckConstraint(condition=models.Q(hours_booked__lte=models.F("hours_capacity")),
                                   name="day_not_overbooked"),
            models.CheckConstraint(condition=models.Q(hours_booked_online__lte=models.F("hours_online")),
                                   name="day_online_not_overbooked"),
        ]

    def __str__(self) -> str:
        return f"{self.rooftop} {self.day} {self.service_type}"


class Appointment(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        CONFIRMED = "confirmed", _("Confirmed")
        ARRIVED = "arrived", _("Arrived")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")
        NO_SHOW = "no_show", _("No-show")
        CANCELLED = "cancelled", _("Cancelled")

    class Channel(models.TextChoices):
        CRM = "crm", _("By staff")
        ONLINE = "online", _("Online")

    rooftop = models.ForeignKey(Rooftop, verbose_name=_("rooftop"), on_delete=models.PROTECT,
                                related_name="appointments", db_index=False)
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="appointments")
    day_load = models.ForeignKey(DayLoad, on_delete=models.PROTECT, related_name="+")
    service_type = models.ForeignKey(ServiceType, verbose_name=_("service"), on_delete=models.PROTECT,
                                     related_name="appointments")
    vehicle = models.ForeignKey(Vehicle, verbose_name=_("vehicle"), on_delete=models.PROTECT,
                                related_name="appointments")
    person = models.ForeignKey(Person, verbose_name=_("customer"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="appointments")
    advisor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("service advisor"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="appointments", db_index=False)
    declined = models.ForeignKey(DeclinedRecommendation, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="appointments")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.BOOKED)
    channel = models.CharField(_("booked"), max_length=6, choices=Channel.choices, default=Channel.CRM)
    labour_hours = models.DecimalField(_("labour hours"), max_digits=5, decimal_places=2)
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["slot__starts_at", "pk"]
        indexes = [models.Index(fields=["rooftop", "status"]), models.Index(fields=["advisor", "status"])]

    def __str__(self) -> str:
        return f"{self.slot} · {self.vehicle}"

    @property
    def holds_capacity(self) -> bool:
        return self.status not in (self.Status.CANCELLED, self.Status.NO_SHOW)


# Reminders ----------------------------------------------------------------------------------------

class MaintenanceInterval(models.Model):
    """How often a car needs its service: every so many km or months, whichever comes first. The most
    specific row applies: make and model, else the make, else the default (both blank)."""

    make = models.CharField(_("make"), max_length=60, blank=True)
    model = models.CharField(_("model"), max_length=80, blank=True)
    every_km = models.PositiveIntegerField(_("every (km)"))
    every_months = models.PositiveSmallIntegerField(_("every (months)"))

    class Meta:
        verbose_name = _("maintenance interval")
        verbose_name_plural = _("maintenance intervals")
        constraints = [models.UniqueConstraint(fields=["make", "model"], name="one_interval_per_model")]

    def __str__(self) -> str:
        return f"{self.make or '*'} {self.model or '*'}: {self.every_km} km / {self.every_months} mo"


class ReminderKind(models.TextChoices):
    MAINTENANCE = "maintenance", _("Maintenance due")
    TYRES = "tyres", _("Seasonal tyre change")
    INSPECTION = "inspection", _("State inspection")
    INSURANCE = "insurance", _("Insurance renewal")
    WARRANTY = "warranty", _("Warranty ends")
    BIRTHDAY = "birthday", _("Birthday greeting")
    POST_DELIVERY = "post_delivery", _("Care call after delivery")
    DECLINED = "declined", _("Declined work follow-up")
    HOLIDAY = "holiday", _("Holiday greeting")


# Occasions that became marketing automations (migration marketing 0008): kept for the reminders already made.
AUTOMATED_KINDS = (ReminderKind.BIRTHDAY, ReminderKind.POST_DELIVERY, ReminderKind.DECLINED)


class ReminderRule(models.Model):
    """Per kind: whether it runs, how many days ahead, and whether the customer gets a message (where
    the consent ledger allows) or staff get a task, or both."""

    kind = models.CharField(_("reminder"), max_length=16, choices=ReminderKind.choices, unique=True)
    enabled = models.BooleanField(_("on"), default=True)
    days_ahead = models.PositiveSmallIntegerField(_("days ahead"), default=14)
    message = models.BooleanField(_("message to the customer"), default=True)
    task = models.BooleanField(_("task for staff"), default=False)

    class Meta:
        verbose_name = _("reminder rule")
        verbose_name_plural = _("reminder rules")
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.get_kind_display()


class Reminder(models.Model):
    """One reminder for one reason and period: unique, so a second run never creates it twice."""

    class Status(models.TextChoices):
        PENDING = "pending", _("To send")
        SENT = "sent", _("Sent")
        NO_CONSENT = "no_consent", _("Not sent: no consent")
        TASK = "task", _("Task for staff")
        DONE = "done", _("Done")

    kind = models.CharField(_("reminder"), max_length=16, choices=ReminderKind.choices)
    person = models.ForeignKey(Person, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="reminders")
    vehicle = models.ForeignKey(Vehicle, verbose_name=_("vehicle"), null=True, blank=True, on_delete=models.CASCADE,
                                related_name="reminders")
    due_on = models.DateField(_("due"))
    period = models.CharField(max_length=40)  # the occasion: a due date, a season, a year, an item
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="reminders")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["due_on", "pk"]
        constraints = [models.UniqueConstraint(fields=["kind", "person", "vehicle", "period"], nulls_distinct=False,
                                               name="reminder_once_per_period")]
        indexes = [models.Index(fields=["status", "due_on"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.person_id} · {self.due_on}"


DEFAULT_ADVISOR_APPOINTMENTS = 16


class AdvisorCapacity(models.Model):
    """How many appointments a service advisor takes a day (default 16)."""

    advisor = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    appointments_per_day = models.PositiveSmallIntegerField(_("appointments a day"))

    class Meta:
        verbose_name = _("advisor capacity")
        verbose_name_plural = _("advisor capacities")

    def __str__(self) -> str:
        return f"{self.advisor}: {self.appointments_per_day}"


class AdvisorDay(models.Model):
    """An advisor's appointments on one day against their capacity, guarded like the slots."""

    advisor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    capacity = models.PositiveSmallIntegerField()
    booked = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["advisor", "day"], name="advisor_day_once"),
            models.CheckConstraint(condition=models.Q(booked__lte=models.F("capacity")), name="advisor_not_overbooked"),
        ]

    def __str__(self) -> str:
        return f"{self.advisor_id} {self.day}: {self.booked}/{self.capacity}"


class TyreSeason(models.Model):
    """When winter and summer tyres go on, by region: per rooftop, else the group's default (no rooftop)."""

    rooftop = models.OneToOneField(Rooftop, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    autumn = models.DateField(_("winter tyres from (any year)"))
    spring = models.DateField(_("summer tyres from (any year)"))

    class Meta:
        verbose_name = _("tyre season")
        verbose_name_plural = _("tyre seasons")
        constraints = [models.UniqueConstraint(fields=["rooftop"], nulls_distinct=False, name="one_season_per_rooftop")]

    def __str__(self) -> str:
        return f"{self.rooftop or '*'}: {self.autumn:%d.%m} / {self.spring:%d.%m}"


class Holiday(models.Model):
    """A day customers get greetings (with marketing consent): New Year, Spring Festival, 8 March…"""

    name = models.CharField(_("name"), max_length=100)
    day = models.DateField(_("date (the year is ignored)"))

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["day"]

    def __str__(self) -> str:
        return self.name
