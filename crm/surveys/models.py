"""Satisfaction surveys (CSI after service, NPS) answered on a public page by token, with the signals
that an answer may not be the customer's own."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.customers.models import Person
from crm.dealerships.models import Rooftop


class SurveyKind(models.TextChoices):
    CSI_SERVICE = "csi_service", _("Satisfaction after service")
    CSI_DELIVERY = "csi_delivery", _("Satisfaction after delivery")


class Invitation(models.Model):
    """One customer asked once; only the SHA-256 of the token is stored."""

    kind = models.CharField(_("survey"), max_length=16, choices=SurveyKind.choices)
    person = models.ForeignKey(Person, verbose_name=_("customer"), on_delete=models.CASCADE,
                               related_name="survey_invitations")
    rooftop = models.ForeignKey(Rooftop, verbose_name=_("rooftop"), null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    employee = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("employee"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    source_ref = models.CharField(max_length=80)  # what it is about, e.g. service:visit:12
    token_hash = models.CharField(max_length=64, unique=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        constraints = [models.UniqueConstraint(fields=["kind", "source_ref"], name="one_invitation_per_occasion")]

    def __str__(self) -> str:
        return f"{self.kind} {self.source_ref}"


class Answer(models.Model):
    class Signal(models.TextChoices):
        SAME_NETWORK = "same_network", _("Many answers from one network")
        SAME_DEVICE = "same_device", _("Many answers from one device")
        TOO_FAST = "too_fast", _("Answered faster than a person reads")
        PHONE_CHANGED = "phone_changed", _("Phone number changed shortly before")
        ALL_MAX_CLUSTER = "all_max_cluster", _("All-maximum answers clustered on one employee")

    invitation = models.OneToOneField(Invitation, on_delete=models.CASCADE, related_name="answer")
    satisfaction = models.PositiveSmallIntegerField(_("satisfaction (1-5)"))
    recommend = models.PositiveSmallIntegerField(_("would recommend (0-10)"))
    comment = models.TextField(_("comment"), blank=True)
    answered_at = models.DateTimeField(auto_now_add=True)
    seconds_to_answer = models.PositiveIntegerField(null=True)
    network = models.CharField(max_length=64, blank=True)  # a hash of the address, never the address
    device = models.CharField(max_length=64, blank=True)  # a hash of the browser's signature
    signals = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("survey answer")
        verbose_name_plural = _("survey answers")
        indexes = [models.Index(fields=["network"]), models.Index(fields=["device"])]

    def __str__(self) -> str:
        return f"{self.satisfaction}/{self.recommend}"
