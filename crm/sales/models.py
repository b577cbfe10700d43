"""Sales: prospects by purchase intent, the contacts that follow them up, opportunities, test drives,
delivery care and the call centre's call lists.

The prospect contact table (意向客户接触状况表) is the ``Contact`` table: every planned contact is a
row with its planned date and the date it is due by (from the level's cadence); doing it fills in
when, how and with what outcome. So "planned vs done" and "on time" are plain counts.
"""

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, RangeBoundary, RangeOperators
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Func, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.customers.models import ConsentPurpose, Person, Vehicle
from crm.dealerships.models import Rooftop


class Level(models.TextChoices):
    H = "H", _("H – buys within a week")
    A = "A", _("A – buys within two weeks")
    B = "B", _("B – buys within a month")
    C = "C", _("C – buys within three months")
    O = "O", _("O – ordered")  # noqa: E741 - the dealer's own letter
    F = "F", _("F – lost")


# Levels that are worked by cadence; O and F end the follow-up.
WORKED_LEVELS = (Level.H, Level.A, Level.B, Level.C)


class Source(models.TextChoices):
    WALK_IN = "walk_in", _("Showroom walk-in")
    PHONE = "phone", _("Phone")
    WEB_FORM = "web_form", _("Web form")
    REFERRAL = "referral", _("Referral")
    EVENT = "event", _("Event")
    SERVICE_LANE = "service_lane", _("Service lane")
    CAMPAIGN = "campaign", _("Campaign")
    THIRD_PARTY = "third_party", _("Third party")


class Condition(models.TextChoices):
    NEW = "new", pgettext_lazy("car condition", "New")
    USED = "used", pgettext_lazy("car condition", "Used")
    EITHER = "either", _("New or used")


class LostReason(models.TextChoices):
    PRICE = "price", _("Price")
    COMPETITOR = "competitor", _("Bought from a competitor")
    OTHER_BRAND = "other_brand", _("Chose another brand")
    FINANCING = "financing", _("Financing refused")
    TRADE_IN = "trade_in", _("Trade-in value")
    DELIVERY_TIME = "delivery_time", _("Delivery time")
    PRODUCT = "product", _("Model or equipment")
    POSTPONED = "postponed", _("Purchase postponed")
    NO_RESPONSE = "no_response", _("No longer responds")
    OTHER = "other", _("Other")


class Cadence(models.Model):
    """How often a prospect of a level is contacted: the next contact is planned ``min_days`` after
    the last one and is overdue after ``max_days`` (H: 1 to 2, A: 3, B: 7, C: 14 by default)."""

    level = models.CharField(_("level"), max_length=1, choices=[(level.value, level.label) for level in WORKED_LEVELS],
                             unique=True)
    min_days = models.PositiveSmallIntegerField(_("next contact after (days)"),
                                                validators=[MinValueValidator(1), MaxValueValidator(180)])
    max_days = models.PositiveSmallIntegerField(_("overdue after (days)"),
                                                validators=[MinValueValidator(1), MaxValueValidator(180)])

    class Meta:
        verbose_name = _("contact cadence")
        verbose_name_plural = _("contact cadences")
        ordering = ["level"]
        constraints = [models.CheckConstraint(condition=Q(min_days__lte=models.F("max_days")),
                                              name="cadence_min_before_max")]

    def __str__(self) -> str:
        return f"{self.level}: {self.min_days}\u2013{self.max_days}"


def working_days_default() -> list[int]:
    return [0, 1, 2, 3, 4, 5]


class SalesSchedule(models.Model):
    """Where a salesperson works and on which weekdays: new leads are shared round-robin among
    the rooftop's salespeople working that day."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sales_schedule")
    rooftop = models.ForeignKey(Rooftop, verbose_name=_("rooftop"), on_delete=models.CASCADE,
                                related_name="sales_schedules")
    weekdays = ArrayField(models.PositiveSmallIntegerField(), verbose_name=_("working days"),
                          default=working_days_default)
    takes_leads = models.BooleanField(_("takes new leads"), default=True)
    away_until = models.DateField(_("away until"), null=True, blank=True)
    last_assigned_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("sales schedule")
        verbose_name_plural = _("sales schedules")

    def __str__(self) -> str:
        return f"{self.user} @ {self.rooftop}"

    @property
    def weekday_names(self) -> str:
        from django.utils.dates import WEEKDAYS_ABBR

        return ", ".join(str(WEEKDAYS_ABBR[day]) for day in sorted(self.weekdays))


class Prospect(models.Model):
    """A customer who may buy a car, held by one salesperson; at most one open prospect per customer."""

    person = models.ForeignKey(Person, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="prospects")
    rooftop = models.ForeignKey(Rooftop, verbose_name=_("rooftop"), null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="prospects", db_index=False)
    salesperson = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("salesperson"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="prospects", db_index=False)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    source_detail = models.CharField(_("source details"), max_length=200, blank=True,
                                     help_text=_("Which event, campaign, website or partner"))
    referrer = models.ForeignKey(Person, verbose_name=_("referred by"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="referrals")
    model_interest = models.CharField(_("model of interest"), max_length=120, blank=True)
    condition = models.CharField(_("new or used"), max_length=8, choices=Condition.choices, default=Condition.NEW)
    trade_in = models.BooleanField(_("trade-in"), default=False)
    financing = models.BooleanField(_("financing"), default=False)
    level = models.CharField(_("level"), max_length=1, choices=Level.choices, default=Level.C)
    lost_reason = models.CharField(_("lost because"), max_length=16, choices=LostReason.choices, blank=True)
    competitor = models.CharField(_("competitor"), max_length=120, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    registered_on = models.DateField(_("registered"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    first_response_at = models.DateTimeField(_("first contact"), null=True, blank=True)
    next_contact_on = models.DateField(_("next contact"), null=True, blank=True)
    ordered_on = models.DateField(_("ordered"), null=True, blank=True)
    closed_on = models.DateField(_("closed"), null=True, blank=True,
                                 help_text=_("Lost, or delivered: the prospect is no longer worked."))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = _("prospect")
        verbose_name_plural = _("prospects")
        ordering = ["next_contact_on", "pk"]
        constraints = [
            # No two salespeople on one customer (防止撞单): one open prospect per customer.
            models.UniqueConstraint(fields=["person"], condition=Q(closed_on__isnull=True), name="one_open_prospect"),
            models.CheckConstraint(condition=~Q(level="F") | ~Q(lost_reason=""), name="lost_has_reason"),
        ]
        indexes = [
            models.Index(fields=["salesperson", "closed_on", "next_contact_on"], name="prospect_worklist"),
            models.Index(fields=["registered_on"], name="prospect_registered"),
            models.Index(fields=["closed_on"], name="prospect_closed"),
            models.Index(fields=["rooftop", "level"], name="prospect_rooftop_level"),
            models.Index(fields=["source", "level"], name="prospect_source_level"),
        ]

    def __str__(self) -> str:
        return f"{self.person} ({self.level})"

    @property
    def is_open(self) -> bool:
        return self.closed_on is None


class History(models.Model):
    """What happened to a prospect or its deals: level and stage changes with their reason, assignment,
    handover, transfer. Never edited."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Registered")
        LEVEL = "level", _("Level changed")
        ASSIGNED = "assigned", _("Assigned")
        HANDOVER = "handover", _("Handed over")
        TRANSFER = "transfer", _("Transferred")
        STAGE = "stage", _("Deal stage")
        ENQUIRY = "enquiry", _("New enquiry")

    prospect = models.ForeignKey(Prospect, on_delete=models.CASCADE, related_name="history", db_index=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    from_value = models.CharField(max_length=40, blank=True)
    to_value = models.CharField(max_length=40, blank=True)
    note = models.TextField(blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("prospect history")
        verbose_name_plural = _("prospect history")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["prospect", "kind", "at"], name="history_prospect_kind")]

    def __str__(self) -> str:
        return f"{self.kind} {self.from_value}\u2192{self.to_value}"


class ContactKind(models.TextChoices):
    CALL = "call", _("Call")
    VISIT = "visit", _("Showroom visit")
    MESSAGE = "message", _("Message")
    EMAIL = "email", _("E-mail")
    TEST_DRIVE = "test_drive", _("Test drive")


class Outcome(models.TextChoices):
    REACHED = "reached", _("Talked, still interested")
    NO_ANSWER = "no_answer", _("No answer")
    APPOINTMENT = "appointment", _("Showroom visit agreed")
    TEST_DRIVE = "test_drive", _("Test drive agreed")
    OFFER = "offer", _("Offer sent")
    NEGOTIATING = "negotiating", _("Negotiating")
    ORDERED = "ordered", _("Ordered")
    NOT_INTERESTED = "not_interested", _("No longer interested")


class Contact(models.Model):
    """One row of the prospect contact table: planned on a date, due by the cadence's limit, and —
    once done — when, how and with what outcome. A prospect has at most one planned contact open."""

    prospect = models.ForeignKey(Prospect, on_delete=models.CASCADE, related_name="contacts", db_index=False)
    planned_on = models.DateField(_("planned"), null=True, blank=True)
    due_by = models.DateField(_("due by"), null=True, blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    kind = models.CharField(_("how"), max_length=12, choices=ContactKind.choices, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)
    note = models.TextField(_("what was said"), blank=True)
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="+", verbose_name=_("by"))

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-done_at", "-planned_on", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["prospect"], condition=Q(done_at__isnull=True), name="one_planned_contact"),
            models.CheckConstraint(condition=Q(done_at__isnull=False) | Q(planned_on__isnull=False),
                                   name="contact_planned_or_done"),
        ]
        indexes = [
            models.Index(fields=["planned_on"], condition=Q(done_at__isnull=True), name="contact_open_plan"),
            models.Index(fields=["planned_on"], name="contact_planned"),  # the review: planned in a month
            models.Index(fields=["done_at"], name="contact_done"),
            models.Index(fields=["prospect", "-done_at"], name="contact_by_prospect"),
        ]

    def __str__(self) -> str:
        return f"{self.prospect_id} {self.planned_on or ''} {self.done_at or ''}"

    @property
    def on_time(self) -> bool | None:
        if self.done_at is None or self.due_by is None:
            return None
        return timezone.localdate(self.done_at) <= self.due_by


class TransferRequest(models.Model):
    """A salesperson asks for a customer another salesperson holds; the sales manager decides."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the manager")
        APPROVED = "approved", _("Transferred")
        DECLINED = "declined", _("Declined")

    prospect = models.ForeignKey(Prospect, on_delete=models.CASCADE, related_name="transfer_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.TextField(_("why"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("transfer request")
        verbose_name_plural = _("transfer requests")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["prospect", "requested_by"], condition=Q(status="pending"),
                                               name="one_pending_transfer")]

    def __str__(self) -> str:
        return f"{self.prospect_id} \u2192 {self.requested_by_id}: {self.status}"


class Stage(models.TextChoices):
    NEW = "new", pgettext_lazy("deal stage", "New")
    CONTACTED = "contacted", _("Contacted")
    TEST_DRIVE = "test_drive", _("Test drive")
    OFFER = "offer", pgettext_lazy("deal stage", "Offer")
    ORDER = "order", pgettext_lazy("deal stage", "Order")
    DELIVERED = "delivered", _("Delivered")
    LOST = "lost", pgettext_lazy("deal stage", "Lost")


OPEN_STAGES = (Stage.NEW, Stage.CONTACTED, Stage.TEST_DRIVE, Stage.OFFER, Stage.ORDER)
# The probability a stage suggests when the salesperson does not give one.
STAGE_PROBABILITY = {Stage.NEW: 10, Stage.CONTACTED: 20, Stage.TEST_DRIVE: 40, Stage.OFFER: 60, Stage.ORDER: 90,
                     Stage.DELIVERED: 100, Stage.LOST: 0}


class Opportunity(models.Model):
    """A deal: a car for a prospect, through the stages to delivery (or lost)."""

    prospect = models.ForeignKey(Prospect, on_delete=models.CASCADE, related_name="opportunities")
    model = models.CharField(_("model"), max_length=120)
    condition = models.CharField(_("new or used"), max_length=8, choices=Condition.choices, default=Condition.NEW)
    equipment = models.TextField(_("equipment and extras"), blank=True)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2, null=True, blank=True,
                                 validators=[MinValueValidator(0)])
    trade_in_amount = models.DecimalField(_("trade-in allowance"), max_digits=12, decimal_places=2, null=True,
                                          blank=True, validators=[MinValueValidator(0)])
    probability = models.PositiveSmallIntegerField(_("probability, %"), validators=[MaxValueValidator(100)])
    expected_close = models.DateField(_("expected close"), null=True, blank=True)
    stage = models.CharField(_("stage"), max_length=12, choices=Stage.choices, default=Stage.NEW)
    stage_changed_at = models.DateTimeField()
    lost_reason = models.CharField(_("lost because"), max_length=16, choices=LostReason.choices, blank=True)
    competitor = models.CharField(_("competitor"), max_length=120, blank=True)
    vehicle = models.ForeignKey(Vehicle, verbose_name=_("delivered car"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    delivered_on = models.DateField(_("delivered"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        ordering = ["expected_close", "pk"]
        indexes = [models.Index(fields=["stage", "expected_close"], name="opportunity_pipeline")]

    def __str__(self) -> str:
        return f"{self.model} ({self.get_stage_display()})"

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES


class DemoVehicle(models.Model):
    """A car of the rooftop's demo fleet, booked for test drives."""

    rooftop = models.ForeignKey(Rooftop, verbose_name=_("rooftop"), on_delete=models.CASCADE,
                                related_name="demo_vehicles")
    model = models.CharField(_("model"), max_length=120)
    plate = models.CharField(_("plate"), max_length=20, blank=True)
    vin = models.CharField(_("VIN"), max_length=17, blank=True)
    is_active = models.BooleanField(_("in the demo fleet"), default=True)

    class Meta:
        verbose_name = _("demo car")
        verbose_name_plural = _("demo cars")
        ordering = ["rooftop__name", "model"]

    def __str__(self) -> str:
        return " ".join(part for part in (self.model, self.plate) if part)


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = models.DateTimeField()  # only used inside the exclusion constraint


class TestDrive(models.Model):
    """A demo car booked for a prospect; the database refuses two overlapping bookings of one car."""

    __test__ = False  # not a pytest class

    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        DONE = "done", _("Done")
        NO_SHOW = "no_show", _("Did not come")
        CANCELLED = "cancelled", _("Cancelled")

    demo = models.ForeignKey(DemoVehicle, verbose_name=_("demo car"), on_delete=models.PROTECT,
                             related_name="test_drives")
    prospect = models.ForeignKey(Prospect, on_delete=models.CASCADE, related_name="test_drives")
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.BOOKED)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("test drive")
        verbose_name_plural = _("test drives")
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(starts_at__lt=models.F("ends_at")), name="test_drive_starts_first"),
            ExclusionConstraint(
                name="demo_car_not_double_booked",
                expressions=[(TsTzRange("starts_at", "ends_at", RangeBoundary()), RangeOperators.OVERLAPS),
                             ("demo", RangeOperators.EQUAL)],
                condition=Q(status__in=["booked", "done"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.demo} {self.starts_at:%Y-%m-%d %H:%M}"


class CareStep(models.Model):
    """One step of the post-delivery care plan, editable per dealer group (thank-you call on day 1,
    the "second delivery" evening invitation within four weeks, …)."""

    class Kind(models.TextChoices):
        THANK_YOU = "thank_you", _("Thank-you call")
        SURVEY = "survey", _("Satisfaction survey (sent automatically)")
        CHECK_CALL = "check_call", _("Call: how are the first weeks with the car?")
        EVENING = "second_delivery", _("Invite to the next \"second delivery\" evening")
        FIRST_SERVICE = "first_service", _("Call: book the first service")

    days_after = models.PositiveSmallIntegerField(_("days after delivery"), validators=[MaxValueValidator(365)])
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    title = models.CharField(_("what to do"), max_length=200, blank=True,
                             help_text=_("Leave empty to use the kind's own words."))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("care step")
        verbose_name_plural = _("post-delivery care plan")
        ordering = ["days_after", "pk"]

    def __str__(self) -> str:
        return f"+{self.days_after}: {self.label}"

    @property
    def label(self) -> str:
        return self.title or str(self.get_kind_display())


class CareTask(models.Model):
    """A care step due for one delivered car, on the salesperson's day list."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="care_tasks")
    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="care_tasks", db_index=False)
    step = models.ForeignKey(CareStep, null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=16, choices=CareStep.Kind.choices)
    title = models.CharField(max_length=200, blank=True)
    due_on = models.DateField(_("due"))
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="care_tasks")
    done_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("care task")
        verbose_name_plural = _("care tasks")
        ordering = ["due_on", "pk"]
        constraints = [models.UniqueConstraint(fields=["opportunity", "step"], name="care_step_once")]
        indexes = [models.Index(fields=["assigned_to", "due_on"], condition=Q(done_at__isnull=True),
                                name="care_open_by_user")]

    def __str__(self) -> str:
        return f"{self.due_on}: {self.label}"

    @property
    def label(self) -> str:
        return self.title or str(self.get_kind_display())


class CallList(models.Model):
    """Customers for the call centre to call, with a script, built from a filter or a segment."""

    name = models.CharField(_("name"), max_length=200)
    purpose = models.CharField(_("purpose"), max_length=20, choices=ConsentPurpose.choices,
                               default=ConsentPurpose.MARKETING,
                               help_text=_("Only customers who agreed to phone calls for this purpose are called."))
    script = models.TextField(_("script"), blank=True)
    criteria = models.JSONField(default=dict, blank=True, editable=False)
    excluded_without_consent = models.PositiveIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("call list")
        verbose_name_plural = _("call lists")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class CallOutcome(models.TextChoices):
    INTERESTED = "interested", _("Interested: lead for sales")
    BOOKED = "booked", _("Booked a service visit")
    NOT_INTERESTED = "not_interested", _("Not interested")
    NO_ANSWER = "no_answer", _("No answer")
    CALL_BACK = "call_back", _("Call back later")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    DO_NOT_CALL = "do_not_call", _("Asked not to be called")


class CallEntry(models.Model):
    """One customer on a call list, with the agent, the attempts and the outcome."""

    class Status(models.TextChoices):
        TO_CALL = "to_call", _("To call")
        CALL_BACK = "call_back", _("Call back")
        DONE = "done", _("Done")

    call_list = models.ForeignKey(CallList, on_delete=models.CASCADE, related_name="entries", db_index=False)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", db_index=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.TO_CALL)
    outcome = models.CharField(max_length=16, choices=CallOutcome.choices, blank=True)
    call_back_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_called_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("call list entry")
        verbose_name_plural = _("call list entries")
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["call_list", "person"], name="call_entry_once")]
        indexes = [models.Index(fields=["agent", "status", "call_back_at"], name="call_entry_queue")]

    def __str__(self) -> str:
        return f"{self.call_list_id}: {self.person_id} {self.status}"
