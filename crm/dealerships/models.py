from django.db import models
from django.utils.translation import gettext_lazy as _


class Rooftop(models.Model):
    """One dealership (a showroom and/or workshop) of the dealer group."""

    name = models.CharField(_("name"), max_length=200)
    city = models.CharField(_("city"), max_length=120, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC")
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("rooftop")
        verbose_name_plural = _("rooftops")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
