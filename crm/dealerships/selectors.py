"""Reads on the dealer group's structure, for the CRM and for the platform (plan limits), and the one
rule for downloading customer lists."""

from accounts.models import StaffRole, User

from .models import PrivacyRules, Rooftop


def rooftop_count() -> int:
    """The rooftops of the current schema's dealer group."""
    return Rooftop.objects.count()


def export_roles() -> list[str]:
    """The roles that may download customer lists now: dealer admins, and those the group's rules name."""
    chosen = set(PrivacyRules.current().export_roles)
    return [role for role in StaffRole.values if role == StaffRole.DEALER_ADMIN or role in chosen]


def customers_export_allowed(user: User) -> bool:
    """May this person download customer lists (the customer base, whole or filtered, as a file)? Active
    dealer staff in a role the group allows (``export_roles``). The one rule every bulk download of
    customers asks, the screens to show or hide the button and the download itself to refuse."""
    return bool(getattr(user, "is_dealer_staff", False)) and user.role in export_roles()
