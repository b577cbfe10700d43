"""Marketing messages: templates per language with merge fields, the group's sending rules (quiet hours,
frequency cap) and one row per message sent or refused, keyed so that nothing is sent twice."""

from datetime import time

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import StaffRole
from crm.customers.models import ConsentPurpose, Person


class MessageChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")


class MessageTemplate(models.Model):
    """A message the dealer writes once and sends many times, with a text per language."""

    name = models.CharField(_("name"), max_length=200)
    channel = models.CharField(_("channel"), max_length=8, choices=MessageChannel.choices)
    purpose = models.CharField(_("purpose"), max_length=20, choices=ConsentPurpose.choices,
                               default=ConsentPurpose.MARKETING,
                               help_text=_("Sent only to customers who agreed to this channel for this purpose."))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TemplateText(models.Model):
    """The template in one language. Merge fields are written ``{{ given_name }}``; see templating.py."""

    template = models.ForeignKey(MessageTemplate, on_delete=models.CASCADE, related_name="texts", db_index=False)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))

    class Meta:
        verbose_name = _("template text")
        verbose_name_plural = _("template texts")
        constraints = [models.UniqueConstraint(fields=["template", "language"], name="one_text_per_language")]

    def __str__(self) -> str:
        return f"{self.template_id} {self.language}"

    def clean(self) -> None:
        from .templating import fields_check

        fields_check(f"{self.subject}\n{self.body}")


class SendingRules(models.Model):
    """The dealer group's rules for every marketing message (one row): no messages at night in the
    group's time zone, and at most so many marketing messages per customer a week, across campaigns."""

    quiet_from = models.TimeField(_("quiet from"), default=time(21, 0))
    quiet_until = models.TimeField(_("quiet until"), default=time(9, 0))
    weekly_cap = models.PositiveSmallIntegerField(
        _("marketing messages per customer a week"), default=2, validators=[MinValueValidator(1),
                                                                           MaxValueValidator(50)])
    track_email = models.BooleanField(
        _("count e-mail opens and clicks"), default=True,
        help_text=_("A tiny picture and redirected links in each e-mail. Where the law asks for the "
                    "customer's consent to this (e.g. Germany's TTDSG), switch it off unless you have it."))

    class Meta:
        verbose_name = _("sending rules")
        verbose_name_plural = _("sending rules")

    def __str__(self) -> str:
        return f"{self.quiet_from:%H:%M}\u2013{self.quiet_until:%H:%M}, {self.weekly_cap}/7d"

    @classmethod
    def current(cls) -> "SendingRules":
        return cls.objects.order_by("pk").first() or cls()


class Message(models.Model):
    """One message to one customer: sent, failed, or refused with the reason. ``key`` names the occasion
    (a campaign and a customer, an automation's event) so a rerun finds it and sends nothing twice."""

    class Status(models.TextChoices):
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        REFUSED = "refused", _("Not sent")

    class Reason(models.TextChoices):
        NO_CONSENT = "no_consent", _("No consent for this channel and purpose")
        NO_ADDRESS = "no_address", _("No address for this channel")
        FREQUENCY_CAP = "frequency_cap", _("Enough messages this week")
        NO_TEXT = "no_text", _("The template has no text")

    key = models.CharField(max_length=120, unique=True)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="messages", db_index=False)
    template = models.ForeignKey(MessageTemplate, null=True, on_delete=models.SET_NULL, related_name="messages")
    channel = models.CharField(max_length=8, choices=MessageChannel.choices)
    purpose = models.CharField(max_length=20, choices=ConsentPurpose.choices)
    address = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=Status.choices)
    reason = models.CharField(max_length=16, choices=Reason.choices, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Handed to the provider this many times: once, and once more each time a run finished it after a crash.
    attempts = models.PositiveSmallIntegerField(default=0)
    # E-mail only: the first time the tracking pixel was loaded and the first tracked link followed.
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    # The links the dealer's text and the CRM put in the message: the only ones an e-mail makes clickable.
    links = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["person", "purpose", "sent_at"], name="message_cap")]

    def __str__(self) -> str:
        return self.key


class Campaign(models.Model):
    """A template sent to an audience (a segment and filters), frozen when sending starts, in batches
    at a rate, resumable: a worker that dies mid-send is followed by another that sends to whoever is left."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        DONE = "done", _("Sent")
        CANCELLED = "cancelled", _("Cancelled")

    name = models.CharField(_("name"), max_length=200)
    template = models.ForeignKey(MessageTemplate, verbose_name=_("template"), on_delete=models.PROTECT,
                                 related_name="campaigns")
    criteria = models.JSONField(default=dict, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    scheduled_at = models.DateTimeField(_("send at"), null=True, blank=True)
    rate_per_minute = models.PositiveIntegerField(_("messages a minute"), default=600,
                                                  validators=[MinValueValidator(1), MaxValueValidator(60_000)])
    attribution_days = models.PositiveSmallIntegerField(
        _("attribution window (days)"), default=30, validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("Bookings, visits and prospects of recipients within this many days count as its results."))
    cost_per_message = models.DecimalField(_("cost per message"), max_digits=8, decimal_places=4, default=0,
                                           validators=[MinValueValidator(0)])
    frozen_at = models.DateTimeField(null=True, blank=True)
    # Kept as the run goes (one statement a batch, with the recipients' statuses): the list reads them, it never
    # counts a campaign's recipients.
    recipients_total = models.PositiveIntegerField(default=0)
    sent_count = models.PositiveIntegerField(default=0)
    refused_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="campaign_running")]

    def __str__(self) -> str:
        return self.name


class Recipient(models.Model):
    """One customer of a campaign's frozen audience and what became of their message."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENT = "sent", _("Sent")
        REFUSED = "refused", _("Not sent")
        FAILED = "failed", _("Failed")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients", db_index=False)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("recipient")
        verbose_name_plural = _("recipients")
        constraints = [models.UniqueConstraint(fields=["campaign", "person"], name="recipient_once")]
        indexes = [models.Index(fields=["campaign", "status", "id"], name="recipient_queue")]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.person_id} {self.status}"


class Event(models.Model):
    """An evening, a class or a meeting the dealer invites customers to; seats are limited."""

    class Kind(models.TextChoices):
        CLUB = "club", _("Owners' club event")
        CARE_CLASS = "care_class", _("Car-care class")
        SECOND_DELIVERY = "second_delivery", _("“Second delivery” evening")
        PREVIEW = "preview", _("Preview evening for company-car users and families")
        TEST_DRIVE_DAY = "test_drive_day", _("Test-drive day")
        FLEET_MEETING = "fleet_meeting", _("Annual meeting with fleet decision makers")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    rooftop = models.ForeignKey("dealerships.Rooftop", verbose_name=_("rooftop"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    capacity = models.PositiveIntegerField(_("seats"), validators=[MinValueValidator(1)])
    description = models.TextField(_("description"), blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-starts_at"]
        constraints = [models.CheckConstraint(condition=models.Q(starts_at__lt=models.F("ends_at")),
                                              name="event_starts_first")]

    def __str__(self) -> str:
        return self.name


class EventInvitation(models.Model):
    """One customer invited to an event, and their answer: a seat (with guests), the waiting list, or no."""

    class Status(models.TextChoices):
        INVITED = "invited", _("Invited")
        ACCEPTED = "accepted", _("Coming")
        WAITLISTED = "waitlisted", _("On the waiting list")
        DECLINED = "declined", _("Not coming")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="invitations", db_index=False)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="event_invitations")
    token_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.INVITED)
    guests = models.PositiveSmallIntegerField(_("guests"), default=0, validators=[MaxValueValidator(4)])
    responded_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("event invitation")
        verbose_name_plural = _("event invitations")
        ordering = ["responded_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["event", "person"], name="invited_once")]
        indexes = [models.Index(fields=["event", "status", "responded_at"], name="invitation_seats")]

    def __str__(self) -> str:
        return f"{self.event_id}:{self.person_id} {self.status}"

    @property
    def seats(self) -> int:
        return 1 + self.guests


class Segment(models.Model):
    """A saved audience: rules over the customer, their cars, visits, prospects and computed segments
    (which update themselves), or a fixed list of customers. Campaigns, call lists and invitations use it."""

    class Kind(models.TextChoices):
        RULES = "rules", _("Rules: updates itself")
        LIST = "list", _("Fixed list of customers")

    class Match(models.TextChoices):
        ALL = "all", _("all of the rules")
        ANY = "any", _("any of the rules")

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=5, choices=Kind.choices, default=Kind.RULES)
    match = models.CharField(_("customers who match"), max_length=3, choices=Match.choices, default=Match.ALL)
    rules = models.JSONField(default=list, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint(Lower("name"), condition=models.Q(archived_at__isnull=True),
                                               name="segment_name_unique")]

    def __str__(self) -> str:
        return self.name


class SegmentMember(models.Model):
    """One customer on a fixed list. A customer merged into another stays on the list as the survivor."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="members", db_index=False)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")

    class Meta:
        verbose_name = _("list member")
        verbose_name_plural = _("list members")
        constraints = [models.UniqueConstraint(fields=["segment", "person"], name="segment_member_once")]

    def __str__(self) -> str:
        return f"{self.segment_id}:{self.person_id}"


class Automation(models.Model):
    """A rule the dealer writes: when something happens to a customer, after so many days, send them a
    template or give a colleague a task. Occasions before the rule was switched on do not count."""

    class Trigger(models.TextChoices):
        DELIVERY = "delivery", _("A car is delivered (bought)")
        VISIT_CLOSED = "visit_closed", _("A workshop visit is closed")
        BIRTHDAY = "birthday", _("The customer's birthday")
        DECLINED_WORK = "declined_work", _("Declined work reaches its follow-up date")
        NO_VISIT = "no_visit", _("No workshop visit for a number of months")

    class Action(models.TextChoices):
        MESSAGE = "message", _("Send a message")
        TASK = "task", _("Create a task")

    name = models.CharField(_("name"), max_length=200)
    trigger = models.CharField(pgettext_lazy("automation", "when"), max_length=16, choices=Trigger.choices)
    months = models.PositiveSmallIntegerField(
        _("months without a visit"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(120)])
    delay_days = models.PositiveSmallIntegerField(_("after (days)"), default=0, validators=[MaxValueValidator(365)])
    action = models.CharField(pgettext_lazy("automation", "then"), max_length=8, choices=Action.choices)
    template = models.ForeignKey(MessageTemplate, verbose_name=_("template"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="automations")
    task_role = models.CharField(_("task for"), max_length=20, choices=StaffRole.choices, blank=True)
    task_title = models.CharField(_("what to do"), max_length=200, blank=True)
    # One of the automations every group starts with (automations.PRESETS), else "".
    preset = models.CharField(max_length=24, blank=True, editable=False)
    is_active = models.BooleanField(_("on"), default=True)
    active_since = models.DateField(_("on since"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("automation")
        verbose_name_plural = _("automations")
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(action="message") | models.Q(template__isnull=False),
                                   name="automation_message_has_template"),
            models.CheckConstraint(condition=~models.Q(action="task") | ~models.Q(task_role=""),
                                   name="automation_task_has_role"),
            models.CheckConstraint(condition=~models.Q(trigger="no_visit") | models.Q(months__isnull=False),
                                   name="automation_no_visit_has_months"),
        ]

    def __str__(self) -> str:
        return self.name


class AutomationRun(models.Model):
    """One occasion of an automation for one customer (a visit, a year's birthday, a lapse since a last
    visit): created once, done once. A task is done by a colleague with an outcome."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENT = "sent", _("Sent")
        REFUSED = "refused", _("Not sent")
        FAILED = "failed", _("Failed")
        TASK = "task", _("Task open")
        DONE = "done", _("Task done")
        SKIPPED = "skipped", _("No longer applies")

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="runs", db_index=False)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="automation_runs")
    occasion = models.CharField(max_length=60)
    due_on = models.DateField(_("due"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="automation_tasks")
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    outcome = models.CharField(_("outcome"), max_length=300, blank=True)
    # A task's role when it was made: whoever holds that role may take it, even if the rule changes later.
    role = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("automation run")
        verbose_name_plural = _("automation runs")
        ordering = ["due_on", "pk"]
        constraints = [models.UniqueConstraint(fields=["automation", "person", "occasion"], name="automation_once")]
        indexes = [
            models.Index(fields=["due_on"], condition=models.Q(status="pending"), name="automation_pending"),
            models.Index(fields=["assigned_to", "due_on"], condition=models.Q(status="task"),
                         name="automation_open_task"),
        ]

    def __str__(self) -> str:
        return f"{self.automation_id}:{self.person_id}:{self.occasion}"
