"""Web enquiries: a visitor's form on the dealer's site (later the portal's "request a test drive")
becomes a prospect through the same duplicate check and routing as one registered in the showroom.

The visitor is anonymous, so nothing they type may overwrite what the dealer knows: an existing
customer is only recognised by a phone or e-mail *and* a similar name, and then only gains the
contact details they lacked.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.mail import email_message_to_dict
from accounts.models import User
from accounts.tasks import email_send
from config.celery import enqueue_on_commit
from crm.customers import normalize
from crm.customers.identity import name_similarity, review_queue_refresh
from crm.customers.models import Channel, ConsentChannel, ConsentPurpose, Email, Person, Phone, TimelineEntry
from crm.customers.services import consent_record, person_create, person_update, tenant_language
from crm.dealerships.models import Rooftop

from .models import Condition, Contact, History, Level, Prospect, Source
from .services import MANAGERS, ProspectHeld, history_add, prospect_create, timeline_add

# Two name keys this alike (rapidfuzz ratio of the least alike part) are one person's name.
SAME_NAME = 0.8
# Stored as given, not translated: the ledger is read by audits, not by the customer.
CONSENT_SOURCE = "web enquiry form"


@dataclass(frozen=True)
class Enquiry:
    """What the visitor sent, already validated: ``phone`` in E.164 and ``email`` normalised (either
    may be empty, not both)."""

    given_name: str
    family_name: str
    phone: str = ""
    email: str = ""
    rooftop: Rooftop | None = None
    model_interest: str = ""
    condition: str = Condition.NEW
    test_drive: bool = False
    test_drive_on: date | None = None
    trade_in: bool = False
    financing: bool = False
    message: str = ""
    source_detail: str = ""
    marketing_consent: bool = False
    consent_wording: str = ""
    language: str = ""
    # A friend's enquiry through an owner's referral link: the source, and who referred them.
    source: str = Source.WEB_FORM
    referrer: Person | None = None


@dataclass(frozen=True)
class Received:
    person: Person
    prospect: Prospect
    new_customer: bool
    new_prospect: bool


def customer_match(*, phone: str, email: str, family_name: str, given_name: str) -> Person | None:
    """The active customer with this phone or e-mail whose name is the same (in any script or order)
    or similar; None when nobody qualifies. A shared family phone with another name is not a match."""
    key = normalize.name_key(family_name, given_name)
    contact = Q(pk__in=Phone.objects.filter(number=phone).values("person_id")) if phone else Q(pk__in=[])
    if email:
        contact |= Q(pk__in=Email.objects.filter(address=email).values("person_id"))
    best: tuple[tuple[bool, float, int], Person] | None = None
    for person in Person.objects.active().filter(contact):
        similarity = name_similarity(person.name_key, key)
        if person.name_key != key and similarity < SAME_NAME:
            continue
        rank = (person.name_key == key, similarity, person.pk)
        if best is None or rank > best[0]:
            best = (rank, person)
    return best[1] if best else None


def contacts_lock(phone: str, email: str) -> None:
    """Serialise enquiries carrying the same phone or e-mail (a double click, a retried POST) until
    commit, so the second finds the customer and prospect the first created."""
    keys = sorted(f"enquiry:{connection.schema_name}:{value}" for value in (phone, email) if value)
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


def _rooftop(enquiry: Enquiry, person: Person | None) -> Rooftop | None:
    """The rooftop chosen, else the customer's, else the dealer group's first."""
    if enquiry.rooftop is not None:
        return enquiry.rooftop
    if person is not None and person.rooftop is not None and person.rooftop.is_active:
        return person.rooftop
    return Rooftop.objects.filter(is_active=True).order_by("name", "pk").first()


def _customer_update(person: Person, enquiry: Enquiry) -> None:
    """Only what is missing is added: an anonymous form never replaces a known phone or e-mail."""
    phones = [enquiry.phone] if enquiry.phone and not person.phones.exists() else None
    emails = [enquiry.email] if enquiry.email and not person.emails.exists() else None
    if phones or emails:
        person_update(person=person, by=None, fields={}, phones=phones, emails=emails)


def _customer_create(enquiry: Enquiry, rooftop: Rooftop | None) -> Person:
    fields = {"given_name": enquiry.given_name, "family_name": enquiry.family_name, "channel": Channel.WEBSITE,
              "rooftop": rooftop}
    if enquiry.language in dict(settings.LANGUAGES):
        fields["preferred_language"] = enquiry.language
    person = person_create(by=None, fields=fields, phones=[enquiry.phone] if enquiry.phone else [],
                           emails=[enquiry.email] if enquiry.email else [], source="web_form")
    review_queue_refresh([person.pk])  # a near namesake with the same phone goes to a person to decide
    return person


def _consent(person: Person, enquiry: Enquiry) -> None:
    """The marketing consent ticked on the form, for the contacts the visitor typed that are this
    customer's. An anonymous form never overrides a withdrawal the customer made: that needs the
    customer (a confirmed link, the portal, a call) — it is left as it is."""
    from crm.customers.models import Consent

    typed = ((ConsentChannel.EMAIL, enquiry.email, person.emails.filter(address=enquiry.email)),
             (ConsentChannel.SMS, enquiry.phone, person.phones.filter(number=enquiry.phone)))
    for channel, value, on_file in typed:
        if not value or not on_file.exists():
            continue
        latest = Consent.objects.filter(person=person, channel=channel, purpose=ConsentPurpose.MARKETING).in_force(
            timezone.now()).first()
        if latest is not None and not latest.granted:
            continue
        consent_record(person=person, by=None, channel=channel, purpose=ConsentPurpose.MARKETING, granted=True,
                       source=CONSENT_SOURCE, proof=enquiry.consent_wording)


def enquiry_text(enquiry: Enquiry, *, rooftop: Rooftop | None) -> str:
    """The enquiry as the salesperson reads it, in the active language."""
    lines = []
    if enquiry.test_drive:
        lines.append(_("Test drive requested, preferred date: %(date)s") % {"date": enquiry.test_drive_on.isoformat()}
                     if enquiry.test_drive_on else _("Test drive requested"))
    if enquiry.model_interest:
        lines.append(_("Model of interest: %(model)s (%(condition)s)") % {
            "model": enquiry.model_interest, "condition": Condition(enquiry.condition).label})
    if enquiry.trade_in:
        lines.append(_("Has a car to trade in"))
    if enquiry.financing:
        lines.append(_("Asks about financing"))
    if rooftop is not None:
        lines.append(_("Rooftop: %(rooftop)s") % {"rooftop": rooftop})
    contacts = ", ".join(value for value in (normalize.phone_display(enquiry.phone) if enquiry.phone else "",
                                             enquiry.email) if value)
    lines.append(_("Contact as given: %(contacts)s") % {"contacts": contacts})
    if enquiry.source_detail:
        lines.append(_("From: %(source)s") % {"source": enquiry.source_detail})
    if enquiry.message:
        lines.append("")
        lines.append(enquiry.message)
    return "\n".join(lines)


def _plan_today(prospect: Prospect) -> None:
    """Bring the held prospect's open contact into today's list, due by tomorrow at the latest."""
    today = timezone.localdate()
    tomorrow = today + timedelta(days=1)
    contact = Contact.objects.select_for_update().filter(prospect=prospect, done_at__isnull=True).first()
    if contact is None:
        contact = Contact.objects.create(prospect=prospect, planned_on=today, due_by=tomorrow)
    else:
        # An earlier (overdue) plan keeps its date: it is in today's list already, and stays late.
        contact.planned_on = min(contact.planned_on or today, today)
        contact.due_by = min(contact.due_by or tomorrow, tomorrow)
        contact.save(update_fields=["planned_on", "due_by"])
    Prospect.objects.filter(pk=prospect.pk).update(next_contact_on=contact.planned_on)


# Message ids for _mail: marked for translation here, translated per recipient there.
HELD_SUBJECT = gettext_noop("New web enquiry from your prospect %(customer)s")
HELD_BODY = gettext_noop(
    "%(customer)s, whom you hold as a prospect, sent an enquiry through the website. It is in your day list "
    "for today.\n\n%(details)s\n\nOpen the prospect: %(url)s")
UNASSIGNED_SUBJECT = gettext_noop("Web enquiry waiting for a salesperson: %(customer)s")
UNASSIGNED_BODY = gettext_noop(
    "Nobody at %(rooftop)s is on the sales schedule to take this web enquiry, so it is not assigned. Please "
    "assign it to a salesperson.\n\n%(details)s\n\nOpen the prospect: %(url)s")


def _mail(users: list[User], subject: str, body: str, enquiry: Enquiry, prospect: Prospect) -> None:
    """Queue one e-mail per user, in their language, sent once the enquiry is committed.

    ``subject`` and ``body`` are untranslated message ids with %(customer)s, %(rooftop)s,
    %(details)s and %(url)s placeholders."""
    host = getattr(connection.tenant, "primary_host", "") or settings.APP_DOMAIN
    url = f"https://{host}{reverse('sales:prospect_detail', args=[prospect.pk])}"
    for user in users:
        if not user.email:
            continue
        with translation.override(user.preferred_language or tenant_language()):
            values = {"customer": prospect.person, "rooftop": prospect.rooftop or "\u2014", "url": url,
                      "details": enquiry_text(enquiry, rooftop=enquiry.rooftop)}
            message = EmailMessage(_(subject) % values, _(body) % values, to=[user.email])
        enqueue_on_commit(email_send, email_message_to_dict(message))


def _managers() -> list[User]:
    return list(User.objects.filter(role__in=MANAGERS, is_active=True).order_by("pk"))


@transaction.atomic
def enquiry_receive(*, enquiry: Enquiry) -> Received:
    """Turn a web enquiry into a prospect, in one transaction.

    The customer is the existing one with this phone or e-mail and a similar name, else a new one
    (put to the duplicate review if near another). A new prospect (H with a test drive, else B) is
    routed round-robin to the rooftop's salespeople on schedule; with nobody on schedule it waits
    unassigned and the sales managers are e-mailed. A customer who already has an open prospect
    gets no second one: the enquiry is added to theirs, planned for today, and its holder e-mailed.
    Marketing consent is recorded only when ticked, per channel given.
    """
    contacts_lock(enquiry.phone, enquiry.email)
    person = customer_match(phone=enquiry.phone, email=enquiry.email, family_name=enquiry.family_name,
                            given_name=enquiry.given_name)
    rooftop = _rooftop(enquiry, person)
    new_customer = person is None
    if person is None:
        person = _customer_create(enquiry, rooftop)
    else:
        _customer_update(person, enquiry)
    if enquiry.marketing_consent:
        _consent(person, enquiry)
    with translation.override(tenant_language()):  # stored for the dealer's staff to read
        notes = enquiry_text(enquiry, rooftop=None)
        data = {"interest": enquiry.model_interest}
    try:
        prospect = prospect_create(
            person=person, by=None, level=Level.H if enquiry.test_drive else Level.B, rooftop=rooftop, route=True,
            fields={"source": enquiry.source, "referrer": enquiry.referrer, "source_detail": enquiry.source_detail,
                    "model_interest": enquiry.model_interest, "condition": enquiry.condition,
                    "trade_in": enquiry.trade_in, "financing": enquiry.financing, "notes": notes})
    except ProspectHeld as held:
        prospect = held.prospect
        with translation.override(tenant_language()):
            # The rooftop the visitor chose is worth a line when it is not the one holding them.
            chosen = enquiry.rooftop if enquiry.rooftop != prospect.rooftop else None
            notes = enquiry_text(enquiry, rooftop=chosen)
        history_add(prospect, History.Kind.ENQUIRY, None, to_value=enquiry.source, note=notes)
        timeline_add(prospect, None, "enquiry", data, kind=TimelineEntry.Kind.MESSAGE, body=notes, notes=True)
        _plan_today(prospect)
        if prospect.salesperson is not None:
            _mail([prospect.salesperson], HELD_SUBJECT, HELD_BODY, enquiry, prospect)
        else:
            _mail(_managers(), UNASSIGNED_SUBJECT, UNASSIGNED_BODY, enquiry, prospect)
        return Received(person=person, prospect=prospect, new_customer=new_customer, new_prospect=False)
    timeline_add(prospect, None, "enquiry", data, kind=TimelineEntry.Kind.MESSAGE, body=notes, notes=True)
    if prospect.salesperson is None:
        _mail(_managers(), UNASSIGNED_SUBJECT, UNASSIGNED_BODY, enquiry, prospect)
    return Received(person=person, prospect=prospect, new_customer=new_customer, new_prospect=True)
