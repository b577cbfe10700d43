"""Fleet and corporate customers: the company, its cars, and its people in their roles."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from . import normalize
from .models import CURRENT_FIRST, AuditEntry, Company, CompanyContact, Person, Vehicle, VehicleLink
from .timeline import timeline_event


def company_search(query: str) -> QuerySet[Company]:
    """Active companies by name (any script, or its Latin spelling) or tax id, with their fleet size on file."""
    companies = Company.objects.filter(archived_at__isnull=True).annotate(
        cars=Count("vehicle_links", filter=Q(vehicle_links__ended_on__isnull=True))).order_by("legal_name", "pk")
    query = (query or "").strip().lower()
    if query:
        found = Q(search_text__contains=query) | Q(search_text__contains=normalize.transliterate(query).lower())
        if any(char.isdigit() for char in query):  # a tax id as people write it: "DE 123 456 789", "7701-234567"
            found |= Q(search_text__contains=normalize.tax_id_normalize(query).lower())
        companies = companies.filter(found)
    return companies


@transaction.atomic
def company_save(*, company: Company) -> Company:
    """Create or update a company from a bound form's instance; its search text follows its name."""
    company.derive()
    company.full_clean()
    company.save()
    return company


@transaction.atomic
def company_contact_add(*, company: Company, person: Person, role: str, by: User | None, title: str = "",
                        vehicles: list[Vehicle] = (), started_on: date | None = None) -> CompanyContact:
    """A person in a role at the company (decision maker, fleet manager, user, driver), optionally
    tied to the company's cars that role concerns; on the person's timeline too."""
    if CompanyContact.objects.filter(company=company, person=person, role=role, ended_on__isnull=True).exists():
        raise ValidationError(_("%(person)s already has this role at %(company)s.")
                              % {"person": person, "company": company})
    contact = CompanyContact.objects.create(company=company, person=person, role=role, title=title,
                                            started_on=started_on or timezone.localdate())
    contact.vehicles.set(vehicles)
    timeline_event("company_role", {"role": role, "company": str(company)}, person=person, author=by).save()
    AuditEntry.objects.create(person=person, actor=by, action="company_role_added",
                              changes={"company": company.pk, "role": role})
    return contact


@transaction.atomic
def company_contact_end(*, contact: CompanyContact, by: User | None) -> None:
    contact.ended_on = timezone.localdate()
    contact.save(update_fields=["ended_on"])
    AuditEntry.objects.create(person=contact.person, actor=by, action="company_role_ended",
                              changes={"company": contact.company_id, "role": contact.role})


def company_fleet(company: Company) -> list[VehicleLink]:
    return list(company.vehicle_links.select_related("vehicle").order_by(CURRENT_FIRST, "-started_on", "-pk"))


def company_contacts(company: Company) -> list[CompanyContact]:
    return list(company.contacts.select_related("person").prefetch_related("vehicles")
                .order_by(CURRENT_FIRST, "role", "person__family_name_latin"))
