"""Users live per schema: a dealer group's staff and car owners never share a table with another's.

The public schema has the same table for platform users (dealer owners signing up, HQ analysts).
"""

import re

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")  # a name written in Chinese characters


class StaffRole(models.TextChoices):
    DEALER_ADMIN = "dealer_admin", _("Dealer admin")
    SALES_MANAGER = "sales_manager", _("Sales manager")
    SALESPERSON = "salesperson", _("Salesperson")
    SERVICE_MANAGER = "service_manager", _("Service manager")
    SERVICE_ADVISOR = "service_advisor", _("Service advisor")
    MARKETING = "marketing", _("Marketing / call centre")


# Roles that edit the dealer's public site in the Wagtail admin, and the Wagtail group they join.
CMS_GROUP_BY_ROLE = {
    StaffRole.DEALER_ADMIN: "Moderators",
    StaffRole.MARKETING: "Editors",
}


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: object) -> "User":
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> "User":
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """Signs in with an e-mail address. ``role`` is empty for car owners and set for dealer staff."""

    username = None  # type: ignore[assignment]
    email = models.EmailField(_("e-mail address"), unique=True)
    role = models.CharField(_("staff role"), max_length=32, choices=StaffRole.choices, blank=True, db_index=True)
    preferred_language = models.CharField(_("preferred language"), max_length=10, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def get_full_name(self) -> str:
        """The name in its own script's order: 曹健 (family name first, no space), Иван Петров, Anna Schmidt."""
        first, last = self.first_name.strip(), self.last_name.strip()
        if _HAN.search(first + last):
            return f"{last}{first}"
        return " ".join(part for part in (first, last) if part)

    def get_short_name(self) -> str:
        """How a greeting names them: the given name (Anna), but a whole Han name (曹健), never its given part alone,
        which in Chinese is for family and friends."""
        if _HAN.search(self.first_name + self.last_name):
            return self.get_full_name()
        return self.first_name.strip()

    @property
    def is_dealer_staff(self) -> bool:
        return bool(self.role) and self.is_active
