"""The integration API's keys and idempotency records, and outgoing webhooks with their delivery log.

A key is shown once, when it is made; only its SHA-256 is stored (keys carry 256 random bits, so a
slow hash adds nothing). A webhook's secret is kept as typed: it signs every delivery.
"""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Module(models.TextChoices):
    """What a key's scopes are about: each module can be granted read, or read and write."""

    CUSTOMERS = "customers", _("Customers, companies, vehicles and consent")
    SALES = "sales", _("Prospects and deals")
    SERVICE = "service", _("Service visits, appointments and capacity")
    MARKETING = "marketing", _("Campaigns, events and answers")


class Access(models.TextChoices):
    READ = "read", _("Read")
    WRITE = "write", _("Read and write")


class ApiKey(models.Model):
    name = models.CharField(_("name"), max_length=80, help_text=_("What uses it, e.g. “DMS nightly sync”."))
    prefix = models.CharField(max_length=12, unique=True)  # shown in lists, so a key can be recognised
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = ArrayField(models.CharField(max_length=30), default=list)  # "customers:read", "service:write", …
    # Which system's numbers the key's upserts use when a request names none (e.g. "dms").
    system = models.CharField(_("system"), max_length=40, default="api",
                              help_text=_("Name of the other system; its record numbers are kept under this name."))
    rate_per_minute = models.PositiveIntegerField(_("requests per minute"), default=600)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["revoked_at", "-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def allows(self, module: str, access: str) -> bool:
        """Write implies read."""
        return f"{module}:{access}" in self.scopes or (access == Access.READ and f"{module}:write" in self.scopes)


class IdempotentRequest(models.Model):
    """A POST made with an ``Idempotency-Key``: its answer, replayed to the same key and body for a day."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # method, path and body
    status_code = models.PositiveSmallIntegerField(null=True)  # None while the first request runs
    body = models.BinaryField(default=b"")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_once")]

    def __str__(self) -> str:
        return self.key


class WebhookEvent(models.TextChoices):
    APPOINTMENT_CREATED = "appointment.created", _("Appointment created")
    APPOINTMENT_CHANGED = "appointment.changed", _("Appointment changed")
    PROSPECT_CREATED = "prospect.created", _("Prospect created")
    VISIT_CLOSED = "visit.closed", _("Service visit closed")
    CUSTOMER_MERGED = "customer.merged", _("Customers merged")


class WebhookEndpoint(models.Model):
    url = models.URLField(_("URL"), max_length=500)
    events = ArrayField(models.CharField(max_length=40, choices=WebhookEvent.choices), verbose_name=_("events"))
    secret = models.CharField(max_length=64)
    description = models.CharField(_("description"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")
        ordering = ["-is_active", "url"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint: the exact body sent, every attempt's outcome, and when to try next."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        DELIVERED = "delivered", pgettext_lazy("webhook delivery", "Delivered")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    event_id = models.UUIDField(default=uuid.uuid4)
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    body = models.TextField()  # the JSON sent, byte for byte, so a replay is the same event
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["endpoint", "-created_at"], name="delivery_by_endpoint"),
                   models.Index(fields=["next_attempt_at"], condition=models.Q(status="pending"),
                                name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id}"
