"""Writes on the workshop's records: repair orders, their lines, declined work, repeat repairs."""

from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from crm.customers.models import MileageReading, Person, TimelineEntry, Vehicle, VehicleLink
from crm.customers.services import tenant_currency
from crm.customers.timeline import day_noon, timeline_event
from crm.dealerships.models import Rooftop
from crm.integrations.models import WebhookEvent
from crm.integrations.webhooks import webhook_emit

from .models import REPEAT_WINDOW_DAYS, DeclinedRecommendation, JobLine, ServiceVisit

DECLINED_FOLLOW_UP_DAYS = 30


def vehicle_find(text: str) -> Vehicle | None:
    """The car a VIN or a plate (any spelling) names."""
    from crm.customers import normalize

    text = (text or "").strip()
    if not text:
        return None
    key = normalize.plate_key(text)
    return Vehicle.objects.filter(Q(vin=text.upper().replace(" ", "")) | Q(plate_key=key)).order_by("pk").first()


def holder_of(vehicle: Vehicle) -> VehicleLink | None:
    """Who the workshop deals with for this car: its current owner, else its current user or driver."""
    links = vehicle.links.filter(ended_on__isnull=True).select_related("person", "company")
    return min(links, key=lambda link: (link.kind != VehicleLink.Kind.OWNER, -link.pk), default=None)


@transaction.atomic
def visit_open(*, vehicle: Vehicle, rooftop: Rooftop | None, opened_on: date, by: User | None,
               person: Person | None = None, advisor: User | None = None, mileage: int | None = None,
               order_number: str = "") -> ServiceVisit:
    """A car in the workshop. Its mileage joins the car's history (the reminders predict from it)."""
    if opened_on > timezone.localdate():
        raise ValidationError(_("A visit cannot be opened in the future; book an appointment instead."))
    holder = holder_of(vehicle)
    if person is None and holder is not None:
        person = holder.person
    visit = ServiceVisit.objects.create(
        vehicle=vehicle, rooftop=rooftop, person=person, company=holder.company if holder else None,
        advisor=advisor or (by if by and by.role == "service_advisor" else None), opened_on=opened_on,
        mileage=mileage, order_number=order_number)
    if mileage is not None:
        MileageReading.objects.get_or_create(vehicle=vehicle, read_on=opened_on, kilometres=mileage,
                                             defaults={"source": "service"})
    return visit


@transaction.atomic
def line_add(*, visit: ServiceVisit, kind: str, category: str, description: str, quantity: Decimal,
             unit_price: Decimal, labour_hours: Decimal | None = None) -> JobLine:
    if visit.status == ServiceVisit.Status.CLOSED:
        raise ValidationError(_("This repair order is closed."))
    line = JobLine.objects.create(visit=visit, kind=kind, category=category, description=description,
                                  quantity=quantity, unit_price=unit_price, amount=(quantity * unit_price).quantize(
                                      Decimal("0.01")), labour_hours=labour_hours)
    totals_update(visit)
    return line


def totals_update(visit: ServiceVisit) -> None:
    totals_recompute([visit.pk])
    visit.refresh_from_db(fields=["labour_amount", "parts_amount", "total_amount"])


# The totals' column holds 12 digits: only a nonsensical file sums beyond it, and it must not stop an import.
_TOTAL_LIMIT = Decimal("9999999999.99")


def totals_recompute(visit_ids: list[int]) -> None:
    """Set-based: each order's labour, parts and total are the sums of its job lines (none: zero)."""
    if not visit_ids:
        return
    table, lines = ServiceVisit._meta.db_table, JobLine._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"""
            UPDATE {table} AS v SET labour_amount = s.labour, parts_amount = s.parts,
                                    total_amount = LEAST(GREATEST(s.labour + s.parts, -%s), %s)
            FROM (SELECT o.id,
                         LEAST(GREATEST(COALESCE(SUM(l.amount) FILTER (WHERE l.kind = %s), 0), -%s), %s) AS labour,
                         LEAST(GREATEST(COALESCE(SUM(l.amount) FILTER (WHERE l.kind = %s), 0), -%s), %s) AS parts
                  FROM {table} AS o LEFT JOIN {lines} AS l ON l.visit_id = o.id
                  WHERE o.id = ANY(%s) GROUP BY o.id) AS s
            WHERE v.id = s.id
        """, [_TOTAL_LIMIT, _TOTAL_LIMIT, JobLine.Kind.LABOUR, _TOTAL_LIMIT, _TOTAL_LIMIT, JobLine.Kind.PART,  # noqa: S608
              _TOTAL_LIMIT, _TOTAL_LIMIT, list(visit_ids)])


@transaction.atomic
def visit_close(*, visit: ServiceVisit, by: User | None, closed_on: date | None = None) -> ServiceVisit:
    """Close the repair order: flagged if it repeats a repair, and on the customer's timeline."""
    visit = ServiceVisit.objects.select_for_update().get(pk=visit.pk)
    if visit.status == ServiceVisit.Status.CLOSED:
        raise ValidationError(_("This repair order is already closed."))
    visit.status, visit.closed_on = ServiceVisit.Status.CLOSED, closed_on or timezone.localdate()
    visit.save(update_fields=["status", "closed_on"])
    repeats_flag([visit.pk])
    visit.refresh_from_db()
    if visit.person_id:
        # The same event as an imported order's: each reader reads it in their language, money in its currency.
        work = list(dict.fromkeys(visit.lines.values_list("description", flat=True)))
        entry = timeline_event("visit", {"order": visit.order_number, "work": work, "amount": str(visit.total_amount),
                                         "currency": tenant_currency(), "km": visit.mileage,
                                         "vehicle": str(visit.vehicle)},
                               kind=TimelineEntry.Kind.VISIT, person_id=visit.person_id, author=by,
                               rooftop_id=visit.rooftop_id, source_ref=f"service:visit:{visit.pk}",
                               occurred_at=timezone.now() if visit.closed_on >= timezone.localdate()
                               else day_noon(visit.closed_on))
        if not TimelineEntry.objects.filter(source_ref=entry.source_ref).exists():
            entry.save()
        from config.celery import enqueue_on_commit
        from crm.surveys.tasks import survey_invite_send

        enqueue_on_commit(survey_invite_send, "csi_service", visit.person_id, f"service:visit:{visit.pk}",
                          visit.rooftop_id, visit.advisor_id)
    webhook_emit(WebhookEvent.VISIT_CLOSED, visit)
    return visit


def repeats_flag(visit_ids: list[int]) -> int:
    """Set-based: each visit repeats the latest earlier visit of the same car within the window
    that had work of one of its categories. Returns how many of them are repeats."""
    if not visit_ids:
        return 0
    table, lines = ServiceVisit._meta.db_table, JobLine._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"""
            UPDATE {table} AS v SET repeat_of_id = (
                SELECT p.id FROM {table} AS p
                WHERE p.vehicle_id = v.vehicle_id AND p.id <> v.id
                  AND p.opened_on BETWEEN v.opened_on - %s AND v.opened_on
                  AND (p.opened_on < v.opened_on OR p.id < v.id)
                  AND EXISTS (SELECT 1 FROM {lines} AS a JOIN {lines} AS b ON a.category = b.category
                              WHERE a.visit_id = p.id AND b.visit_id = v.id)
                ORDER BY p.opened_on DESC, p.id DESC LIMIT 1)
            WHERE v.id = ANY(%s)
        """, [REPEAT_WINDOW_DAYS, list(visit_ids)])  # noqa: S608 - table names from the models
        cursor.execute(f"SELECT count(*) FROM {table} WHERE id = ANY(%s) AND repeat_of_id IS NOT NULL",  # noqa: S608
                       [list(visit_ids)])
        return cursor.fetchone()[0]


def repeats_reflag(visit_ids: list[int]) -> int:
    """Flag these closed orders again after their work changed, with the same car's later closed orders within
    the window: an order that arrives late (a DMS file is not in date order) may be what they repeat."""
    if not visit_ids:
        return 0
    table = ServiceVisit._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT DISTINCT later.id FROM {table} AS v
            JOIN {table} AS later ON later.vehicle_id = v.vehicle_id
                                 AND later.opened_on BETWEEN v.opened_on AND v.opened_on + %s
            WHERE v.id = ANY(%s) AND later.status = %s
        """, [REPEAT_WINDOW_DAYS, list(visit_ids), ServiceVisit.Status.CLOSED])  # noqa: S608
        return repeats_flag([row[0] for row in cursor.fetchall()])


def declined_follow_up(opened_on: date) -> date:
    """When declined work is followed up unless someone says otherwise: a month after the order opened."""
    return opened_on + timedelta(days=DECLINED_FOLLOW_UP_DAYS)


@transaction.atomic
def declined_add(*, visit: ServiceVisit, category: str, description: str, by: User | None,
                 estimate: Decimal | None = None, follow_up_on: date | None = None) -> DeclinedRecommendation:
    """Work recommended and declined: kept with a follow-up date (a month by default)."""
    follow_up_on = follow_up_on or declined_follow_up(visit.opened_on)
    return DeclinedRecommendation.objects.create(
        visit=visit, vehicle_id=visit.vehicle_id, person_id=visit.person_id, category=category,
        description=description, estimate=estimate, follow_up_on=follow_up_on)


@transaction.atomic
def declined_update(*, item: DeclinedRecommendation, status: str, by: User | None, note: str = "",
                    follow_up_on: date | None = None) -> DeclinedRecommendation:
    item = DeclinedRecommendation.objects.select_for_update().get(pk=item.pk)
    item.status, item.note = status, note or item.note
    if follow_up_on:
        item.follow_up_on = follow_up_on
    closed = status in (DeclinedRecommendation.Status.DONE, DeclinedRecommendation.Status.LOST)
    item.closed_at = timezone.now() if closed else None
    item.save()
    if item.person_id:
        timeline_event("declined_status", {"work": item.description, "status": status},
                       kind=TimelineEntry.Kind.CONTACT, person_id=item.person_id, author=by, body=note).save()
    return item
