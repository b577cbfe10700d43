"""One record per customer across sales and service: people, companies, households, vehicles.

Names are kept as written (any script) with a Latin transliteration; phones in E.164; every
phone, e-mail and vehicle link is its own row, so nothing is lost when records merge.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.dealerships.models import Rooftop

from . import normalize


class Gender(models.TextChoices):
    FEMALE = "f", _("Female")
    MALE = "m", _("Male")
    OTHER = "x", _("Other")


class NameOrder(models.TextChoices):
    GIVEN_FIRST = "given_first", _("Given name first")
    FAMILY_FIRST = "family_first", _("Family name first")


class IncomeBand(models.TextChoices):
    LOW = "low", _("Low")
    MIDDLE = "middle", _("Middle")
    UPPER_MIDDLE = "upper_middle", _("Upper middle")
    HIGH = "high", _("High")


class Channel(models.TextChoices):
    WALK_IN = "walk_in", _("Showroom walk-in")
    PHONE = "phone", _("Phone")
    WEBSITE = "website", _("Website")
    REFERRAL = "referral", _("Referral")
    EVENT = "event", _("Event")
    SERVICE = "service", _("Service visit")
    FLEET = "fleet", _("Fleet / corporate")
    IMPORT = "import", _("Import")
    OTHER = "other", _("Other")


class CustomerQuerySet(models.QuerySet["Person"]):
    def active(self) -> "CustomerQuerySet":
        return self.filter(archived_at__isnull=True, merged_into__isnull=True)


class Person(models.Model):
    """A private customer, or a person behind a company (decision maker, user, driver)."""

    family_name = models.CharField(_("family name"), max_length=120, blank=True)
    given_name = models.CharField(_("given name"), max_length=120, blank=True)
    middle_name = models.CharField(_("middle name / patronymic"), max_length=120, blank=True)
    name_order = models.CharField(_("name order"), max_length=16, choices=NameOrder.choices,
                                  default=NameOrder.GIVEN_FIRST)
    family_name_latin = models.CharField(_("family name (Latin)"), max_length=120, blank=True)
    given_name_latin = models.CharField(_("given name (Latin)"), max_length=120, blank=True)

    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    address_verified_at = models.DateTimeField(_("address verified"), null=True, blank=True, editable=False)
    residential_area = models.CharField(_("residential area"), max_length=120, blank=True)
    occupation = models.CharField(_("occupation"), max_length=120, blank=True)
    income_band = models.CharField(_("income band"), max_length=16, choices=IncomeBand.choices, blank=True)
    preferred_language = models.CharField(_("preferred language"), max_length=10, choices=settings.LANGUAGES,
                                          blank=True)
    channel = models.CharField(_("first channel"), max_length=16, choices=Channel.choices, blank=True)
    rooftop = models.ForeignKey(Rooftop, verbose_name=_("rooftop"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="people", db_index=False)
    salesperson = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("responsible salesperson"),
                                    null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    service_advisor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("responsible service advisor"),
                                        null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    notes = models.TextField(_("notes"), blank=True)

    # Derived on save: the matching key (Latin, order-free) and the text the list searches.
    name_key = models.CharField(max_length=300, blank=True, editable=False, db_index=True)
    # The same name folded across transliteration systems (identity resolution blocks and compares on it):
    # the whole key, and its tokens for "a name part and the birth date agree" (GIN-indexed).
    name_fold = models.CharField(max_length=300, blank=True, editable=False, db_index=True, db_default="")
    name_tokens = ArrayField(models.CharField(max_length=120), blank=True, default=list, editable=False,
                             db_default=models.Value([], output_field=ArrayField(models.CharField(max_length=120))))
    search_text = models.TextField(blank=True, editable=False)

    archived_at = models.DateTimeField(_("archived"), null=True, blank=True, db_index=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                    editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["family_name_latin", "given_name_latin", "pk"]
        indexes = [
            GinIndex(OpClass("search_text", name="gin_trgm_ops"), name="person_search_trgm"),
            GinIndex(fields=["name_tokens"], name="person_name_tokens"),
            models.Index(fields=["rooftop", "archived_at"], name="person_rooftop_active"),
        ]

    def __str__(self) -> str:
        return self.display_name or str(_("Unnamed customer"))

    @property
    def display_name(self) -> str:
        """The name as its owner writes it: 张伟 (family first, no space for Han), Пётр Иванов."""
        family, given = self.family_name.strip(), self.given_name.strip()
        if self.name_order == NameOrder.FAMILY_FIRST:
            joiner = "" if normalize.has_han(family + given) else " "
            return joiner.join(part for part in (family, given) if part)
        return " ".join(part for part in (given, self.middle_name.strip(), family) if part)

    @property
    def latin_name(self) -> str:
        return " ".join(part for part in (self.given_name_latin, self.family_name_latin) if part)

    def email_address(self) -> str:
        """Where e-mail to this customer goes: the primary address, else the first; "" if none."""
        email = self.emails.order_by("-is_primary", "pk").first()
        return email.address if email else ""

    def derive(self) -> None:
        """Fill the Latin spellings, the matching key and the search text from what was entered."""
        if normalize.has_han(self.family_name + self.given_name):
            self.name_order = NameOrder.FAMILY_FIRST
        self.family_name_latin = self.family_name_latin or normalize.transliterate(self.family_name, surname=True)
        self.given_name_latin = self.given_name_latin or normalize.transliterate(self.given_name)
        self.name_key = normalize.name_key(self.family_name, self.given_name)
        self.name_tokens = normalize.name_fold_tokens(self.family_name, self.given_name)
        self.name_fold = " ".join(self.name_tokens)
        self.search_text = " ".join(
            part for part in (
                self.family_name, self.given_name, self.middle_name, self.family_name_latin,
                self.given_name_latin, self.display_name, self.name_key,
            ) if part
        ).lower()


class Phone(models.Model):
    class Kind(models.TextChoices):
        MOBILE = "mobile", _("Mobile")
        HOME = "home", pgettext_lazy("phone kind", "Home")
        WORK = "work", pgettext_lazy("phone kind", "Work")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="phones", db_index=False)
    number = models.CharField(_("phone (E.164)"), max_length=20, db_index=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.MOBILE)
    is_primary = models.BooleanField(_("primary"), default=False)
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("phone")
        verbose_name_plural = _("phones")
        ordering = ["-is_primary", "pk"]
        constraints = [models.UniqueConstraint(fields=["person", "number"], name="phone_once_per_person")]
        # Search by the number's ending (LIKE '%…'), whatever prefix the caller typed.
        indexes = [GinIndex(OpClass("number", name="gin_trgm_ops"), name="phone_number_trgm")]

    def __str__(self) -> str:
        return normalize.phone_display(self.number)


class Email(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="emails", db_index=False)
    address = models.EmailField(_("e-mail"), db_index=True)
    is_primary = models.BooleanField(_("primary"), default=False)
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("e-mail")
        verbose_name_plural = _("e-mails")
        ordering = ["-is_primary", "pk"]
        constraints = [models.UniqueConstraint(fields=["person", "address"], name="email_once_per_person")]

    def __str__(self) -> str:
        return self.address


class Household(models.Model):
    name = models.CharField(_("name"), max_length=200)
    members = models.ManyToManyField(Person, related_name="households", verbose_name=_("members"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")

    def __str__(self) -> str:
        return self.name


class Company(models.Model):
    """A fleet or corporate customer: vehicles registered to it, people behind them."""

    legal_name = models.CharField(_("legal name"), max_length=300)
    tax_id = models.CharField(_("tax id"), max_length=40, blank=True, db_index=True)
    fleet_size = models.PositiveIntegerField(_("fleet size"), null=True, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True, help_text=_("The main number, in E.164."))
    email = models.EmailField(_("e-mail"), blank=True)
    rooftop = models.ForeignKey(Rooftop, verbose_name=_("rooftop"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="companies")
    salesperson = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("responsible salesperson"),
                                    null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    search_text = models.TextField(blank=True, editable=False)
    archived_at = models.DateTimeField(_("archived"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["legal_name", "pk"]
        indexes = [GinIndex(OpClass("search_text", name="gin_trgm_ops"), name="company_search_trgm")]

    def __str__(self) -> str:
        return self.legal_name

    def derive(self) -> None:
        self.tax_id = normalize.tax_id_normalize(self.tax_id)
        self.search_text = " ".join(
            part for part in (self.legal_name, normalize.transliterate(self.legal_name), self.tax_id) if part
        ).lower()


class CompanyRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("Decision maker")
    FLEET_MANAGER = "fleet_manager", _("Fleet manager")
    USER = "user", _("Company-car user")
    DRIVER = "driver", _("Driver")


class CompanyContact(models.Model):
    """A person in a role at a company, optionally tied to the vehicles that role concerns."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="contacts")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="company_roles")
    role = models.CharField(_("role"), max_length=16, choices=CompanyRole.choices)
    title = models.CharField(_("job title"), max_length=120, blank=True)
    vehicles = models.ManyToManyField("Vehicle", blank=True, related_name="company_contacts",
                                      verbose_name=_("vehicles"))
    started_on = models.DateField(_("since"), null=True, blank=True)
    ended_on = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("company contact")
        verbose_name_plural = _("company contacts")
        constraints = [
            models.UniqueConstraint(fields=["company", "person", "role"], condition=models.Q(ended_on__isnull=True),
                                    name="one_current_role_per_person"),
        ]

    def __str__(self) -> str:
        return f"{self.person} — {self.get_role_display()}, {self.company}"


class Vehicle(models.Model):
    vin = models.CharField(_("VIN"), max_length=17, blank=True)
    make = models.CharField(_("make"), max_length=60, blank=True)
    model = models.CharField(_("model"), max_length=80, blank=True)
    year = models.PositiveSmallIntegerField(_("model year"), null=True, blank=True)
    plate = models.CharField(_("plate"), max_length=20, blank=True)
    plate_key = models.CharField(max_length=20, blank=True, editable=False)
    colour = models.CharField(_("colour"), max_length=40, blank=True)
    purchase_date = models.DateField(_("purchase date"), null=True, blank=True)
    selling_rooftop = models.ForeignKey(Rooftop, verbose_name=_("selling rooftop"), null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="vehicles_sold")
    salesperson = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("salesperson"), null=True,
                                    blank=True, on_delete=models.SET_NULL, related_name="+")
    warranty_end = models.DateField(_("warranty end"), null=True, blank=True)
    insurance_expiry = models.DateField(_("insurance expiry"), null=True, blank=True)
    inspection_due = models.DateField(_("inspection due"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")
        ordering = ["make", "model", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["vin"], condition=~models.Q(vin=""), name="vin_unique",
                                    violation_error_message=_("Another car in the CRM already has this VIN.")),
        ]
        indexes = [
            GinIndex(OpClass("vin", name="gin_trgm_ops"), name="vehicle_vin_trgm"),
            GinIndex(OpClass("plate_key", name="gin_trgm_ops"), name="vehicle_plate_trgm"),
            # "Make is BMW" compares upper-cased makes: the index gives PostgreSQL their statistics, so it joins
            # the thousands of BMW owners at once instead of guessing a few hundred (bench/saved_segments.py).
            models.Index(Upper("make"), name="vehicle_make_upper"),
        ]

    def __str__(self) -> str:
        label = " ".join(str(part) for part in (self.make, self.model, self.year) if part)
        return f"{label} · {self.plate or self.vin}" if (self.plate or self.vin) else label

    def save(self, *args: object, **kwargs: object) -> None:
        self.plate_key = normalize.plate_key(self.plate)
        if kwargs.get("update_fields") is not None and "plate" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "plate_key"}
        super().save(*args, **kwargs)

    def current_mileage(self) -> "MileageReading | None":
        return self.mileage_readings.order_by("-read_on", "-pk").first()


class MileageReading(models.Model):
    vehicle = models.ForeignKey(Vehicle, on_delete=models.CASCADE, related_name="mileage_readings", db_index=False)
    kilometres = models.PositiveIntegerField(_("kilometres"))
    read_on = models.DateField(_("read on"))
    source = models.CharField(_("source"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("mileage reading")
        verbose_name_plural = _("mileage readings")
        ordering = ["-read_on", "-pk"]
        # The same reading from two files (or one file imported twice) is one reading.
        constraints = [models.UniqueConstraint(fields=["vehicle", "read_on", "kilometres"], name="reading_once")]

    def __str__(self) -> str:
        return f"{self.kilometres} km ({self.read_on})"

    def source_label(self) -> str:
        """Where the reading came from, in words (the stored codes are the importer's and the CRM's)."""
        labels = {"dms": _("DMS import"), "crm": _("entered in the CRM"), "demo": _("demo data")}
        return str(labels.get(self.source, self.source))


# Links and roles in the order people read them: current ones first, then the most recently ended.
CURRENT_FIRST = models.F("ended_on").desc(nulls_first=True)


class VehicleLink(models.Model):
    """Who owns, uses or drives a vehicle, and when: history survives a change of hands."""

    class Kind(models.TextChoices):
        OWNER = "owner", _("Owner")
        USER = "user", _("User")
        DRIVER = "driver", _("Driver")

    vehicle = models.ForeignKey(Vehicle, on_delete=models.CASCADE, related_name="links", db_index=False)
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="vehicle_links")
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="vehicle_links")
    kind = models.CharField(_("relation"), max_length=8, choices=Kind.choices)
    started_on = models.DateField(_("since"), null=True, blank=True)
    ended_on = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("vehicle link")
        verbose_name_plural = _("vehicle links")
        ordering = ["-started_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(person__isnull=False, company__isnull=True)
                | models.Q(person__isnull=True, company__isnull=False),
                name="vehicle_link_has_one_party",
            ),
        ]
        indexes = [models.Index(fields=["vehicle", "ended_on"], name="vehicle_link_current")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.person or self.company} — {self.vehicle}"

    @property
    def is_current(self) -> bool:
        return self.ended_on is None


class ConsentChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone call")
    MESSENGER = "messenger", _("Messenger")


class ConsentPurpose(models.TextChoices):
    SERVICE_REMINDERS = "service_reminders", _("Service reminders")
    MARKETING = "marketing", _("Marketing")
    SURVEYS = "surveys", _("Surveys")


class ConsentQuerySet(models.QuerySet["Consent"]):
    def in_force(self, at: "models.Field | object") -> "ConsentQuerySet":
        return self.filter(recorded_at__lte=at).exclude(expires_at__lte=at)


class Consent(models.Model):
    """One entry of the consent ledger: never edited, only followed by newer entries.

    The newest entry for a person, channel and purpose that is in force decides; a withdrawal is
    an entry with ``granted=False``. Anything that contacts a customer asks
    ``crm.customers.selectors.consent_allows``.
    """

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="consents", db_index=False)
    channel = models.CharField(_("channel"), max_length=12, choices=ConsentChannel.choices)
    purpose = models.CharField(_("purpose"), max_length=20, choices=ConsentPurpose.choices)
    granted = models.BooleanField(_("granted"))
    source = models.CharField(_("source"), max_length=120, help_text=_("Where it was given: a form, a call, an import"))
    proof = models.TextField(_("proof"), blank=True, help_text=_("What was agreed to, a document or call reference"))
    recorded_at = models.DateTimeField(_("recorded"))
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("recorded by"))

    objects = ConsentQuerySet.as_manager()

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-recorded_at", "-pk"]
        indexes = [models.Index(fields=["person", "channel", "purpose", "-recorded_at"], name="consent_lookup")]

    def __str__(self) -> str:
        verb = _("granted") if self.granted else _("withdrawn")
        return f"{self.get_channel_display()} / {self.get_purpose_display()}: {verb}"


class TimelineEntry(models.Model):
    """Everything that happened with a customer, sales and service together, newest first."""

    class Kind(models.TextChoices):
        NOTE = "note", _("Note")
        CONTACT = "contact", _("Contact")
        VISIT = "visit", _("Service visit")
        PURCHASE = "purchase", _("Purchase")
        MESSAGE = "message", _("Message")
        SYSTEM = "system", _("Record change")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="timeline", db_index=False)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    occurred_at = models.DateTimeField(_("when"), db_index=True)
    summary = models.CharField(_("summary"), max_length=300)
    body = models.TextField(_("details"), blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+", verbose_name=_("by"))
    rooftop = models.ForeignKey(Rooftop, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Where an entry from another system came from (a DMS repair order, a sale): recorded once.
    source_ref = models.CharField(max_length=200, blank=True, editable=False)
    # ``<kind>:<id>`` of a record with readers of its own (a prospect's notes: its holder and the sales
    # managers): only they read this entry's text; everyone else sees that it exists (``timeline.py``).
    restricted_to = models.CharField(max_length=40, blank=True, editable=False)
    # What happened, for the CRM to word in each reader's language (``timeline.py``): an event's code and its
    # data (codes, ISO dates, numbers, names). ``summary`` and ``body`` then hold its wording in the language it was
    # written in, for whatever reads the row without the wordings (an entry typed by staff has no event: its text is
    # its own).
    event = models.CharField(max_length=40, blank=True, editable=False)
    data = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline entries")
        ordering = ["-occurred_at", "-pk"]
        indexes = [models.Index(fields=["person", "-occurred_at"], name="timeline_by_person")]
        constraints = [models.UniqueConstraint(fields=["source_ref"], condition=~models.Q(source_ref=""),
                                               name="timeline_source_once")]

    def __str__(self) -> str:
        return self.summary


class AuditEntry(models.Model):
    """Who changed what on a customer record, field by field."""

    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="audit")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    action = models.CharField(max_length=40)
    changes = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.action} {self.at:%Y-%m-%d %H:%M}"


class MergeRecord(models.Model):
    """One merge of duplicate customers into a survivor, with all it takes to undo it exactly."""

    survivor = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="merges")
    merged = models.JSONField(_("merged customers"), default=list)  # their ids
    snapshot = models.JSONField(default=dict, encoder=DjangoJSONEncoder)  # what the merge changed or removed
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="+", verbose_name=_("by"))
    at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")

    class Meta:
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.survivor} \u2190 {self.merged}"


class DuplicateCandidate(models.Model):
    """Two customer records that may be one person, with how sure we are and why."""

    class Status(models.TextChoices):
        OPEN = "open", _("To review")
        MERGED = "merged", _("Merged")
        DISMISSED = "dismissed", _("Not the same")

    person_a = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+", db_index=False)
    person_b = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    confidence = models.FloatField(_("confidence"))
    reasons = models.JSONField(_("reasons"), default=list)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    found_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("possible duplicate")
        verbose_name_plural = _("possible duplicates")
        ordering = ["-confidence", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["person_a", "person_b"], name="duplicate_pair_once"),
            models.CheckConstraint(condition=models.Q(person_a__lt=models.F("person_b")),
                                   name="duplicate_pair_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.person_a} ~ {self.person_b} ({self.confidence:.0%})"


class ExternalRef(models.Model):
    """A customer's (person's or company's) number in another system (the DMS): imports and syncs
    find the customer by it."""

    system = models.CharField(_("system"), max_length=40)
    key = models.CharField(_("number"), max_length=80)
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="external_refs")
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="external_refs")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("number in another system")
        verbose_name_plural = _("numbers in other systems")
        constraints = [
            models.UniqueConstraint(fields=["system", "key"], name="external_ref_once"),
            models.CheckConstraint(condition=models.Q(person__isnull=False, company__isnull=True)
                                   | models.Q(person__isnull=True, company__isnull=False),
                                   name="external_ref_of_a_person_or_a_company"),
        ]

    def __str__(self) -> str:
        return f"{self.system}:{self.key}"


class ImportKind(models.TextChoices):
    SALES = "sales", _("DMS sales file")
    SERVICE = "service", _("DMS service file")


class ImportEncoding(models.TextChoices):
    AUTO = "auto", _("Detect")
    UTF8 = "utf-8", "UTF-8"
    CP1251 = "cp1251", _("Windows-1251 (Cyrillic)")
    GB18030 = "gb18030", _("GB18030 (Chinese)")
    CP1252 = "cp1252", _("Windows-1252 (Western)")


class DateFormat(models.TextChoices):
    ISO = "%Y-%m-%d", "2024-03-31"
    DOTTED = "%d.%m.%Y", "31.03.2024"
    DAY_FIRST = "%d/%m/%Y", "31/03/2024"
    MONTH_FIRST = "%m/%d/%Y", "03/31/2024"
    YEAR_FIRST = "%Y/%m/%d", "2024/03/31"


class ImportProfile(models.Model):
    """A saved column mapping for one DMS export, so next month's file imports in two clicks."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    kind = models.CharField(_("file"), max_length=10, choices=ImportKind.choices)
    mapping = models.JSONField(_("columns"), default=dict)  # target field -> column header
    date_format = models.CharField(_("date format"), max_length=12, choices=DateFormat.choices,
                                   default=DateFormat.ISO)
    encoding = models.CharField(_("encoding"), max_length=10, choices=ImportEncoding.choices,
                                default=ImportEncoding.AUTO)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("import profile")
        verbose_name_plural = _("import profiles")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ImportJob(models.Model):
    """One uploaded DMS file and its runs: mapping, dry run, import, progress and outcome."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Waiting for the column mapping")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Finished")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("file"), max_length=10, choices=ImportKind.choices)
    profile = models.ForeignKey(ImportProfile, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs",
                                verbose_name=_("profile"))
    file = models.FileField(upload_to="imports/%Y/%m/", blank=True)
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, db_index=True)
    encoding = models.CharField(_("encoding"), max_length=10, choices=ImportEncoding.choices,
                                default=ImportEncoding.AUTO)
    header = models.JSONField(default=list)
    mapping = models.JSONField(default=dict)
    date_format = models.CharField(_("date format"), max_length=12, choices=DateFormat.choices,
                                   default=DateFormat.ISO)
    dry_run = models.BooleanField(_("dry run"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict)
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("by"))
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def percent(self) -> int:
        return int(100 * self.processed_rows / self.total_rows) if self.total_rows else 0

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    def outcomes(self) -> list[tuple[str, str, int]]:
        """What happened to the rows, in words, with how many: for the summary."""
        labels = {
            "created": _("new customers"),
            "updated": _("updated (known DMS number or company)"),
            "merged": _("matched to a customer already in the CRM"),
            "unchanged": _("imported before, unchanged"),
            "duplicates_merged": _("duplicate records merged automatically (can be undone)"),
            "review": _("to review as possible duplicates"),
            "warnings": _("imported with values to check"),
            "rejected": _("rejected rows"),
        }
        return [(key, str(label), int(self.counts.get(key, 0))) for key, label in labels.items()]


class ImportProblem(models.Model):
    """What a row of a file could not give, with its line (and column) and the values as they were.

    A *rejected* row did not go in at all: it named nobody (no name, company, phone, e-mail, VIN or
    DMS number) or could not be read. A *warning* is one value that could not be used: the row's
    customer went in with everything else, the value is kept on a data-quality hint.
    """

    class Severity(models.TextChoices):
        WARNING = "warning", _("Warning")
        REJECTED = "rejected", _("Rejected")

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="problems", db_index=False)
    line = models.PositiveIntegerField(_("line"))
    column = models.CharField(_("column"), max_length=200, blank=True)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, default=Severity.REJECTED)
    reason = models.TextField(_("problem"))
    values = models.JSONField(default=list)

    class Meta:
        ordering = ["line", "pk"]
        indexes = [models.Index(fields=["job", "severity", "line"], name="import_problem_job_severity")]

    def __str__(self) -> str:
        return f"{self.line}: {self.reason}"


class ImportedRow(models.Model):
    """A row already imported, by the fingerprint of its values: importing it again changes nothing.

    Also the row's lineage: the file (job) and line it came from, and the customer, company and car
    it went to, so the customer page can say where a record came from and the import page can open
    each row's customer.
    """

    fingerprint = models.CharField(max_length=64, unique=True)
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    vehicle = models.ForeignKey(Vehicle, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    job = models.ForeignKey(ImportJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="rows",
                            db_index=False)
    line = models.PositiveIntegerField(_("line"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, blank=True)
    order_ref = models.CharField(max_length=120, blank=True)  # the repair order the row went to, by its DMS key

    class Meta:
        indexes = [models.Index(fields=["job", "line"], name="imported_row_job_line")]
        constraints = [models.CheckConstraint(
            condition=models.Q(person__isnull=False) | models.Q(company__isnull=False),
            name="imported_row_has_a_customer")]

    def __str__(self) -> str:
        return self.fingerprint


class DataHint(models.Model):
    """A value that could not be used as written, kept beside the record it belongs to.

    "VIN fails its check digit: did you mean …?", "“0086 138…” could be a number of two countries":
    the value as written, what is wrong, a suggestion where exactly one correction fits, and where
    it came from (an import's file and line). Staff correct the record and mark the hint resolved.
    """

    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="hints",
                               db_index=False)
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.CASCADE, related_name="hints")
    vehicle = models.ForeignKey(Vehicle, null=True, blank=True, on_delete=models.CASCADE, related_name="hints")
    field = models.CharField(_("field"), max_length=40)
    value = models.CharField(_("value as written"), max_length=300)
    message = models.TextField(_("problem"))
    suggestion = models.CharField(_("suggestion"), max_length=300, blank=True)
    job = models.ForeignKey(ImportJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    line = models.PositiveIntegerField(_("line"), null=True, blank=True)
    created_at = models.DateTimeField(_("found"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")

    class Meta:
        verbose_name = _("data-quality hint")
        verbose_name_plural = _("data-quality hints")
        ordering = ["-created_at", "pk"]
        indexes = [models.Index(fields=["person"], condition=models.Q(resolved_at__isnull=True),
                                name="hint_open_person")]
        constraints = [
            models.CheckConstraint(condition=models.Q(person__isnull=False) | models.Q(company__isnull=False)
                                   | models.Q(vehicle__isnull=False), name="hint_has_a_record"),
            # One hint per record, field and value from one import: re-running a file adds none.
            models.UniqueConstraint(fields=["person", "company", "vehicle", "field", "value"],
                                    nulls_distinct=False, name="hint_once"),
        ]

    def __str__(self) -> str:
        return f"{self.field}: {self.value}"


class QualityRules(models.Model):
    """The dealer group's rules for its customer data: what a complete record has, how often
    contact data is re-verified, when a customer without contact is archived. One row."""

    required_fields = models.JSONField(_("required fields"), default=list)
    phone_refresh_months = models.PositiveSmallIntegerField(_("re-verify phones every (months)"), default=12)
    email_refresh_months = models.PositiveSmallIntegerField(_("re-verify e-mails every (months)"), default=24)
    address_refresh_months = models.PositiveSmallIntegerField(_("re-verify addresses every (months)"), default=24)
    archive_after_years = models.PositiveSmallIntegerField(
        _("archive after (years without contact)"), default=3,
        help_text=_("Customers with no visit, purchase, contact or note for this long are archived every night."))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("data quality rules")
        verbose_name_plural = _("data quality rules")

    def __str__(self) -> str:
        return str(_("Data quality rules"))

    @classmethod
    def current(cls) -> "QualityRules":
        rules, _created = cls.objects.get_or_create(pk=1, defaults={
            "required_fields": ["phone", "email", "birth_date", "address", "rooftop", "vehicle"]})
        return rules
