from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from accounts.models import CMS_GROUP_BY_ROLE, StaffRole

User = get_user_model()


@transaction.atomic
def staff_user_create(
    *,
    email: str,
    password: str | None,
    role: str,
    first_name: str = "",
    last_name: str = "",
    preferred_language: str = "",
) -> "User":
    """Create a dealer staff member in the current schema with the given role.

    Roles that edit the dealer's site join the matching Wagtail group, so the CMS uses the same
    login. A password that fails the validators raises ValidationError; ``None`` leaves the
    account without a usable password (the person sets one through password reset).
    """
    role = StaffRole(role)
    email = User.objects.normalize_email(email).strip().lower()
    user = User(email=email, role=role, first_name=first_name, last_name=last_name,
                preferred_language=preferred_language)
    if password is None:
        user.set_unusable_password()
    else:
        validate_password(password, user)
        user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    group_name = CMS_GROUP_BY_ROLE.get(role)
    if group_name:
        group, _created = Group.objects.get_or_create(name=group_name)
        if not group.permissions.filter(codename="access_admin").exists():
            access_admin = Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
            group.permissions.add(access_admin)
        user.groups.add(group)
    return user


def rooftops_create(*, group_name: str, count: int, timezone: str) -> list:
    """The rooftops a new group said it has, named after it (``Nord Auto``, or ``Nord Auto 1`` … ``Nord Auto n``) in
    its time zone: there from the first page, for the admin to rename and give their opening hours."""
    from crm.dealerships.models import Rooftop

    names = [group_name] if count == 1 else [f"{group_name} {number}" for number in range(1, count + 1)]
    return Rooftop.objects.bulk_create([Rooftop(name=name[:200], timezone=timezone) for name in names])
