"""Two years of a demo dealer group's life, written backdated, so that every figure has a past.

The demo seed creates the group as it is today: its customers, cars, this month's prospects, a season
of repair orders. A group that has worked for two years also has customers who came on board through
the DMS import on the first day and others since, cars serviced every few months, survey answers after
the visits, cars sold through prospects and prospects lost, club members who joined over time. Written
here, each on the day it happened, so the dashboards, the survey statistics, ``/compare/`` and the HQ
dashboard show months of figures, and the two demo groups differ as two real groups would: each has its
own ``Character`` (how satisfied its customers are, how often they come back, how fast leads are answered).

Everything is written set-based (``copy_create``): two years of a group take a second or two of
``make run``. Texts (work, parts) are in the group's language; money in its currency. Deterministic:
the same group gets the same history on every machine (a seeded ``random.Random``), relative to ``today``.
"""

import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db.models import F
from django.utils import timezone

from accounts.models import StaffRole
from crm.core.bulk import copy_create, copy_update
from crm.customers.models import (
    Consent,
    ConsentChannel,
    ConsentPurpose,
    Email,
    ImportedRow,
    ImportJob,
    ImportKind,
    MileageReading,
    Person,
    Phone,
    TimelineEntry,
    VehicleLink,
)
from crm.customers.timeline import day_noon, timeline_event
from crm.dealerships.models import Rooftop
from crm.marketing.models import Message, MessageChannel
from crm.sales.models import Contact, ContactKind, Level, LostReason, Opportunity, Outcome, Prospect, Source, Stage
from crm.service.booking import day_load_for
from crm.service.models import Appointment, DayLoad, JobCategory, JobLine, ServiceType, ServiceVisit, Slot
from crm.surveys.models import Answer, Invitation, SurveyKind

DAYS = 730  # two years
MARK = "demo:"  # source_ref of what the history writes: it is written once


@dataclass(frozen=True)
class Prices:
    labour_rate: int  # per hour
    part: tuple[int, int]  # a part's price, from-to
    car: tuple[int, int]  # a new car's price, from-to


PRICES = {
    "RUB": Prices(3200, (900, 24000), (2_300_000, 5_400_000)),
    "CNY": Prices(260, (80, 2200), (119_000, 329_000)),
    "EUR": Prices(98, (25, 650), (23_000, 61_000)),
}


@dataclass(frozen=True)
class Character:
    """How a group's customers and staff behave: what makes two groups' figures differ."""

    satisfaction: tuple[int, int, int, int, int]  # weights of 1..5
    recommend: tuple[int, int, int]  # weights of detractors (0-6), passives (7-8), promoters (9-10)
    visit_every: tuple[int, int]  # days between a car's workshop visits, from-to
    answered: float  # share of survey invitations answered
    doubtful: float  # share of answers with a sign of fabrication
    response_hours: tuple[int, int]  # a new lead's first contact, from-to
    won: float  # share of closed prospects that bought
    on_time: float  # share of follow-up contacts done by their due date
    consents: float  # share of customers who agreed to be written to
    confirms: float  # share of visits at which the service desk confirmed the customer's phone and e-mail


CHARACTERS = {
    "volga": Character((2, 3, 8, 30, 57), (12, 25, 63), (110, 230), 0.52, 0.02, (1, 7), 0.42, 0.86, 0.82, 0.9),
    "huaxia": Character((4, 7, 16, 36, 37), (21, 34, 45), (140, 300), 0.4, 0.09, (3, 30), 0.31, 0.68, 0.64, 0.55),
}
ORDINARY = Character((3, 5, 12, 35, 45), (16, 30, 54), (130, 270), 0.45, 0.04, (2, 16), 0.36, 0.77, 0.75, 0.7)

# What the workshop does, in the group's language: (category, labour, hours, parts).
WORK = {
    "ru": (
        (JobCategory.MAINTENANCE, "Плановое ТО: замена масла и фильтров", Decimal("1.5"),
         ("Масляный фильтр", "Моторное масло 5W-30, 5 л", "Воздушный фильтр", "Салонный фильтр")),
        (JobCategory.MAINTENANCE, "Замена тормозной жидкости", Decimal("0.8"), ("Тормозная жидкость DOT 4",)),
        (JobCategory.REPAIR, "Замена тормозных колодок", Decimal("1.2"), ("Колодки тормозные передние",)),
        (JobCategory.REPAIR, "Диагностика и ремонт подвески", Decimal("2.5"), ("Стойка стабилизатора",
                                                                              "Сайлентблок рычага")),
        (JobCategory.TYRES, "Сезонная смена шин", Decimal("1"), ("Балансировочные грузики",)),
        (JobCategory.REPAIR, "Замена аккумулятора", Decimal("0.5"), ("Аккумулятор 60 А·ч",)),
    ),
    "zh-hans": (
        (JobCategory.MAINTENANCE, "常规保养：更换机油和滤清器", Decimal("1.5"),
         ("机油滤清器", "全合成机油 5W-30 4升", "空气滤清器", "空调滤清器")),
        (JobCategory.MAINTENANCE, "更换刹车油", Decimal("0.8"), ("刹车油 DOT 4",)),
        (JobCategory.REPAIR, "更换刹车片", Decimal("1.2"), ("前刹车片",)),
        (JobCategory.REPAIR, "底盘检查与悬挂维修", Decimal("2.5"), ("稳定杆连杆", "摆臂衬套")),
        (JobCategory.TYRES, "换季轮胎更换", Decimal("1"), ("平衡块",)),
        (JobCategory.REPAIR, "更换蓄电池", Decimal("0.5"), ("蓄电池 60Ah",)),
    ),
    "en": (
        (JobCategory.MAINTENANCE, "Scheduled service: oil and filters", Decimal("1.5"),
         ("Oil filter", "Engine oil 5W-30, 5 l", "Air filter", "Cabin filter")),
        (JobCategory.MAINTENANCE, "Brake fluid change", Decimal("0.8"), ("Brake fluid DOT 4",)),
        (JobCategory.REPAIR, "Brake pads replaced", Decimal("1.2"), ("Front brake pads",)),
        (JobCategory.REPAIR, "Suspension check and repair", Decimal("2.5"), ("Stabiliser link", "Control arm bush")),
        (JobCategory.TYRES, "Seasonal tyre change", Decimal("1"), ("Balancing weights",)),
        (JobCategory.REPAIR, "Battery replaced", Decimal("0.5"), ("Battery 60 Ah",)),
    ),
}
COMMENTS = {
    "ru": ("Всё быстро и аккуратно, спасибо мастеру.", "Машину вернули чистой, приятно.",
           "Долго ждал выдачи автомобиля.", "Хотелось бы, чтобы заранее сообщали стоимость."),
    "zh-hans": ("服务很快，师傅很专业。", "车洗得很干净，谢谢。", "取车等了很久。", "希望提前告知维修费用。"),
    "en": ("Quick and careful work, thank you.", "The car came back clean, a nice touch.",
           "I waited a long time to collect the car.", "I would like to know the price beforehand."),
}
CONTACT_NOTES = {
    "ru": ("Обсудили комплектацию и сроки поставки.", "Клиент сравнивает с предложением конкурента.",
           "Договорились о тест-драйве в субботу.", "Отправил расчёт кредита."),
    "zh-hans": ("讨论了配置和交车时间。", "客户在比较竞品的报价。", "约好周六试驾。", "已发送贷款方案。"),
    "en": ("Discussed trim levels and delivery time.", "The customer is comparing a competitor's offer.",
           "Test drive agreed for Saturday.", "Sent the financing quote."),
}
MODELS = ("Tiguan", "ID.4 Pro", "Golf", "Passat", "Touareg")
NEWSLETTERS = {
    "ru": (("Зимние шины: запишитесь заранее", "Октябрь — время переобуться. Запишитесь на удобное время."),
           ("Весенний осмотр со скидкой", "После зимы проверим подвеску и тормоза со скидкой 15 %.")),
    "zh-hans": (("冬季轮胎：提前预约", "十月是更换冬季轮胎的时候，欢迎预约方便的时间。"),
                ("春季检查优惠", "冬天过后，悬挂和刹车检查享八五折。")),
    "en": (("Winter tyres: book early", "October is tyre-change time. Book a time that suits you."),
           ("Spring check at a discount", "After the winter we check suspension and brakes at 15 % off.")),
}
COMPETITORS = {"ru": ("Автомир", "Рольф", "Major"), "zh-hans": ("永达汽车", "广汇汽车", "中升集团"),
               "en": ("AutoCity", "Motor Park", "Drive One")}


def texts(table: dict[str, tuple], language: str) -> tuple:
    return table.get(language, table["en"])


def _moment(day: date, rng: random.Random, hours: tuple[int, int] = (9, 19)) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(rng.randint(*hours), rng.choice((0, 15, 30, 45)))))


def history_write(*, slug: str, language: str, currency: str, today: date) -> None:
    """The group's two years before ``today`` (idempotent: written once per group)."""
    if ServiceVisit.objects.filter(source_ref__startswith=MARK).exists():
        return
    rng = random.Random(f"{slug}-history")
    character = CHARACTERS.get(slug, ORDINARY)
    prices = PRICES.get(currency, PRICES["EUR"])
    start = today - timedelta(days=DAYS)
    _customers_backdate(rng, start, today)
    _go_live_import(start)
    _consents_write(rng, character)
    visits = _visits_write(rng, character, prices, language, currency, start, today)
    _contacts_confirm(rng, character, visits)
    _surveys_write(rng, character, language, visits, start, today)
    _sales_write(rng, character, prices, language, currency, start, today)
    _newsletters_write(rng, language, start, today)


def _customers_backdate(rng: random.Random, start: date, today: date) -> None:
    """Most customers came with the DMS import in the first week; the rest joined since, a few each week."""
    people = list(Person.objects.order_by("pk"))
    for n, person in enumerate(people):
        day = (start + timedelta(days=rng.randint(0, 6)) if n % 3 != 2
               else start + timedelta(days=rng.randint(30, DAYS - 10)))
        person.created_at = _moment(day, rng)
        person.updated_at = person.created_at
    copy_update(people, ["created_at", "updated_at"])
    created = {person.pk: person.created_at for person in people}
    entries = list(TimelineEntry.objects.filter(person_id__in=created, event="record_created"))
    for entry in entries:
        entry.occurred_at = created[entry.person_id]
    copy_update(entries, ["occurred_at"])


def _visits_write(rng: random.Random, character: Character, prices: Prices, language: str, currency: str,
                  start: date, today: date) -> list[ServiceVisit]:
    """Every car a customer holds, serviced every few months since it was bought: the year before the group
    started is the DMS's history, imported with its customers; none within six weeks of a visit already recorded."""
    advisors = list(get_user_model().objects.filter(role=StaffRole.SERVICE_ADVISOR, is_active=True).order_by("pk"))
    already: dict[int, list[date]] = defaultdict(list)
    for vehicle_id, opened in ServiceVisit.objects.values_list("vehicle_id", "opened_on"):
        already[vehicle_id].append(opened)
    links = (VehicleLink.objects.filter(person__isnull=False, ended_on__isnull=True, person__merged_into__isnull=True)
             .select_related("vehicle", "person").order_by("vehicle_id", "kind", "pk").distinct("vehicle_id"))
    work = texts(WORK, language)
    visits, lines, readings, entries = [], [], [], []
    number = 1000
    for link in links:
        car, person = link.vehicle, link.person
        bought = car.purchase_date or start - timedelta(days=rng.randint(200, 1500))
        yearly = rng.randint(12_000, 24_000)
        day = max(start - timedelta(days=rng.randint(200, 365)), bought + timedelta(days=rng.randint(150, 330)))
        while day <= today - timedelta(days=7):
            if not any(abs((day - other).days) < 42 for other in already[car.pk]) and day.weekday() < 6:
                number += 1
                category, labour, hours, parts = work[rng.randrange(len(work))]
                km = max(int((day - bought).days / 365 * yearly), 500)
                visit = ServiceVisit(
                    vehicle=car, person=person, rooftop_id=person.rooftop_id, opened_on=day, closed_on=day,
                    status=ServiceVisit.Status.CLOSED, mileage=km, order_number=f"RO-{number}",
                    advisor=advisors[rng.randrange(len(advisors))] if advisors else None,
                    source_ref=f"{MARK}visit:{car.pk}:{day.isoformat()}")
                visit_lines = [JobLine(visit=visit, kind=JobLine.Kind.LABOUR, category=category, description=labour,
                                       quantity=hours, labour_hours=hours, unit_price=Decimal(prices.labour_rate))]
                for part in rng.sample(parts, rng.randint(1, len(parts))):
                    quantity = Decimal(rng.choice((1, 1, 2, 4)))
                    visit_lines.append(JobLine(visit=visit, kind=JobLine.Kind.PART, category=category, description=part,
                                               quantity=quantity, unit_price=Decimal(rng.randint(*prices.part))))
                for line in visit_lines:
                    line.amount = (line.quantity * line.unit_price).quantize(Decimal("0.01"))
                visit.labour_amount = sum(line.amount for line in visit_lines if line.kind == JobLine.Kind.LABOUR)
                visit.parts_amount = sum(line.amount for line in visit_lines if line.kind == JobLine.Kind.PART)
                visit.total_amount = visit.labour_amount + visit.parts_amount
                visit.created_at = _moment(day, rng, (8, 10))
                visits.append(visit)
                lines += visit_lines
                readings.append(MileageReading(vehicle=car, kilometres=km, read_on=day, source="demo"))
            day += timedelta(days=rng.randint(*character.visit_every))
    _create_backdated(visits, "created_at")
    copy_create(lines)
    copy_create(readings, ignore_conflicts=True)
    for visit, visit_lines in _by_visit(lines).items():
        entries.append(timeline_event(
            "visit", {"order": visit.order_number, "work": list(dict.fromkeys(line.description for line in visit_lines
                                                                            if line.kind == JobLine.Kind.LABOUR)),
                      "amount": str(visit.total_amount), "currency": currency, "km": visit.mileage,
                      "vehicle": str(visit.vehicle)},
            kind=TimelineEntry.Kind.VISIT, person_id=visit.person_id, rooftop_id=visit.rooftop_id,
            occurred_at=day_noon(visit.closed_on), source_ref=f"service:visit:{visit.pk}"))
    copy_create(entries)
    return visits


def _create_backdated(objs: list, field: str) -> None:
    """Insert ``objs`` with their own ``field`` (an ``auto_now_add`` moment: inserting stamps it with now)."""
    moments = [getattr(obj, field) for obj in objs]
    copy_create(objs)
    for obj, moment in zip(objs, moments, strict=True):
        setattr(obj, field, moment)
    copy_update(objs, [field])


def _go_live_import(start: date) -> None:
    """The DMS export the group started with: a finished import whose every line names the customer it made."""
    first_week = [person for person in Person.objects.order_by("pk") if person.created_at.date() < start + timedelta(7)]
    if not first_week:
        return
    admin = get_user_model().objects.filter(role=StaffRole.DEALER_ADMIN).order_by("pk").first()
    moment = first_week[0].created_at
    job = ImportJob(kind=ImportKind.SALES, original_name="DMS-export.csv", sha256=hashlib.sha256(b"demo").hexdigest(),
                    status=ImportJob.Status.DONE, total_rows=len(first_week), processed_rows=len(first_week),
                    counts={"created": len(first_week)}, created_by=admin, created_at=moment, started_at=moment,
                    finished_at=moment + timedelta(seconds=3))
    job.save()  # one row, with a file field: the ORM's own insert
    ImportJob.objects.filter(pk=job.pk).update(created_at=moment)
    cars = dict(VehicleLink.objects.filter(person__in=first_week, kind=VehicleLink.Kind.OWNER)
                .order_by("-pk").values_list("person_id", "vehicle_id"))
    copy_create([ImportedRow(fingerprint=hashlib.sha256(f"{MARK}{job.pk}:{person.pk}".encode()).hexdigest(), job=job,
                             line=line, person=person, vehicle_id=cars.get(person.pk), outcome="created")
                 for line, person in enumerate(first_week, start=2)])


def _consents_write(rng: random.Random, character: Character) -> None:
    """Most customers agreed, when their record was made, to service reminders, surveys and news by e-mail."""
    consents = []
    for person in Person.objects.filter(emails__isnull=False).distinct().order_by("pk"):
        if rng.random() > character.consents:
            continue
        for purpose in (ConsentPurpose.SERVICE_REMINDERS, ConsentPurpose.SURVEYS, ConsentPurpose.MARKETING):
            consents.append(Consent(person=person, channel=ConsentChannel.EMAIL, purpose=purpose, granted=True,
                                    source="DMS", recorded_at=person.created_at))
    copy_create(consents)


def _contacts_confirm(rng: random.Random, character: Character, visits: list[ServiceVisit]) -> None:
    """At the service desk the customer's phone and e-mail are read back and confirmed: the last time is kept."""
    confirmed: dict[int, datetime] = {}
    for visit in visits:
        if visit.person_id and rng.random() < character.confirms:
            confirmed[visit.person_id] = max(confirmed.get(visit.person_id, visit.created_at), visit.created_at)
    for model in (Phone, Email):
        rows = list(model.objects.filter(person_id__in=confirmed))
        for row in rows:
            row.verified_at = confirmed[row.person_id]
        copy_update(rows, ["verified_at"])


def _newsletters_write(rng: random.Random, language: str, start: date, today: date) -> None:
    """The autumn and spring newsletters by e-mail to those who agreed, each year; some opened and followed."""
    subscribers = list(Consent.objects.filter(channel=ConsentChannel.EMAIL, purpose=ConsentPurpose.MARKETING,
                                              granted=True).values_list("person_id", "person__created_at"))
    addresses = dict(Email.objects.order_by("is_primary", "pk").values_list("person_id", "address"))  # primary last
    letters = texts(NEWSLETTERS, language)
    messages = []
    for year in range(start.year, today.year + 1):
        for day, (subject, body) in ((date(year, 10, 6), letters[0]), (date(year, 3, 16), letters[1])):
            if not start <= day <= today - timedelta(days=3):
                continue
            sent = _moment(day, rng, (10, 11))
            for person_id, joined in subscribers:
                if joined >= sent or person_id not in addresses:
                    continue
                opened = sent + timedelta(hours=rng.randint(1, 72)) if rng.random() < 0.38 else None
                clicked = opened + timedelta(minutes=rng.randint(1, 20)) if opened and rng.random() < 0.3 else None
                messages.append(Message(key=f"{MARK}news:{day.isoformat()}:{person_id}", person_id=person_id,
                                        channel=MessageChannel.EMAIL, purpose=ConsentPurpose.MARKETING,
                                        address=addresses[person_id], subject=subject, body=body,
                                        status=Message.Status.SENT, created_at=sent, sent_at=sent, attempts=1,
                                        opened_at=opened, clicked_at=clicked))
    _create_backdated(messages, "created_at")


def _by_visit(lines: list[JobLine]) -> dict[ServiceVisit, list[JobLine]]:
    grouped: dict[ServiceVisit, list[JobLine]] = defaultdict(list)
    for line in lines:
        grouped[line.visit].append(line)
    return grouped


def _score(rng: random.Random, character: Character) -> tuple[int, int]:
    satisfaction = rng.choices((1, 2, 3, 4, 5), weights=character.satisfaction)[0]
    bucket = rng.choices(((0, 6), (7, 8), (9, 10)), weights=character.recommend)[0]
    recommend = rng.randint(*bucket)
    if satisfaction <= 2:  # an unhappy customer does not recommend
        recommend = min(recommend, rng.randint(0, 6))
    return satisfaction, recommend


def _surveys_write(rng: random.Random, character: Character, language: str, visits: list[ServiceVisit],
                   start: date, today: date) -> None:
    """A satisfaction survey after every visit since the group started; a share answered, a few of them doubtful."""
    invitations, answers = [], []
    comments = texts(COMMENTS, language)
    for visit in visits:
        if visit.closed_on < start:
            continue
        sent = _moment(visit.closed_on + timedelta(days=1), rng, (10, 12))
        invitation = Invitation(kind=SurveyKind.CSI_SERVICE, person_id=visit.person_id, rooftop_id=visit.rooftop_id,
                                employee=visit.advisor, source_ref=f"service:visit:{visit.pk}", sent_at=sent,
                                expires_at=sent + timedelta(days=14),
                                token_hash=hashlib.sha256(f"{MARK}{visit.source_ref}".encode()).hexdigest())
        invitations.append(invitation)
        if rng.random() > character.answered or sent.date() >= today:
            continue
        satisfaction, recommend = _score(rng, character)
        answered = sent + timedelta(hours=rng.randint(1, 60), minutes=rng.randint(0, 59))
        invitation.opened_at = answered - timedelta(seconds=rng.randint(40, 400))
        doubtful = rng.random() < character.doubtful
        answers.append(Answer(invitation=invitation, satisfaction=5 if doubtful else satisfaction,
                              recommend=10 if doubtful else recommend, answered_at=min(answered, timezone.now()),
                              seconds_to_answer=rng.randint(6, 12) if doubtful else rng.randint(45, 400),
                              comment=rng.choice(comments) if rng.random() < 0.3 else "",
                              signals=[Answer.Signal.TOO_FAST] if doubtful else []))
    for invitation in invitations:
        invitation.created_at = invitation.sent_at
    _create_backdated(invitations, "created_at")
    _create_backdated(answers, "answered_at")


def _sales_write(rng: random.Random, character: Character, prices: Prices, language: str, currency: str,
                 start: date, today: date) -> None:
    """Each car the group sold in the two years, sold through a prospect (registered weeks before, contacted,
    ordered, delivered); and the prospects it lost meanwhile, each with its reason."""
    sellers = list(get_user_model().objects.filter(role=StaffRole.SALESPERSON, is_active=True).order_by("pk"))
    sold = list(VehicleLink.objects.filter(kind=VehicleLink.Kind.OWNER, person__isnull=False,
                                           vehicle__purchase_date__gt=start + timedelta(days=45),
                                           vehicle__purchase_date__lte=today - timedelta(days=20),
                                           vehicle__selling_rooftop__isnull=False)
                .select_related("vehicle", "person").order_by("pk"))
    people = list(Person.objects.filter(merged_into__isnull=True, archived_at__isnull=True).order_by("pk"))
    lost_count = round(len(sold) * (1 - character.won) / character.won)
    notes, competitors = texts(CONTACT_NOTES, language), texts(COMPETITORS, language)
    sources = [value for value in Source.values if value != Source.REFERRAL] + [Source.REFERRAL]
    prospects, deals, contacts, entries = [], [], [], []

    def prospect_add(person: Person, registered: date, closed: date, won: bool) -> Prospect:
        seller = sellers[rng.randrange(len(sellers))] if sellers else None
        created = _moment(registered, rng)
        prospect = Prospect(
            person=person, rooftop_id=person.rooftop_id, salesperson=seller, source=rng.choice(sources),
            model_interest=rng.choice(MODELS), level=Level.O if won else Level.F, registered_on=registered,
            first_response_at=created + timedelta(hours=rng.uniform(*character.response_hours)),
            ordered_on=closed - timedelta(days=rng.randint(3, 14)) if won else None, closed_on=closed,
            lost_reason="" if won else rng.choice(LostReason.values),
            competitor=rng.choice(competitors) if not won and rng.random() < 0.5 else "", created_by=seller)
        prospect.created_at = created
        prospects.append(prospect)
        day = registered
        for _step in range(rng.randint(2, 4)):
            due = day + timedelta(days=rng.randint(2, 7))
            done = due if rng.random() < character.on_time else due + timedelta(days=rng.randint(1, 6))
            if done >= closed:
                break
            contacts.append(Contact(prospect=prospect, planned_on=due - timedelta(days=1), due_by=due,
                                    done_at=_moment(done, rng), kind=rng.choice(ContactKind.values),
                                    outcome=rng.choice((Outcome.REACHED, Outcome.APPOINTMENT, Outcome.OFFER)),
                                    note=rng.choice(notes), by=seller))
            day = done
        return prospect

    for link in sold:
        car = link.vehicle
        closed = car.purchase_date
        prospect = prospect_add(link.person, closed - timedelta(days=rng.randint(12, 50)), closed, won=True)
        amount = Decimal(rng.randint(*prices.car) // 1000 * 1000)
        deals.append(Opportunity(prospect=prospect, model=car.model or prospect.model_interest, amount=amount,
                                 probability=100, stage=Stage.DELIVERED, stage_changed_at=day_noon(closed), vehicle=car,
                                 delivered_on=closed, expected_close=closed, created_at=prospect.created_at))
        entries.append(timeline_event("bought", {"vehicle": str(car), "amount": str(amount), "currency": currency},
                                      kind=TimelineEntry.Kind.PURCHASE, person=link.person,
                                      occurred_at=day_noon(closed), rooftop_id=car.selling_rooftop_id,
                                      source_ref=f"{MARK}sale:{car.pk}"))
    for _n in range(lost_count):
        registered = start + timedelta(days=rng.randint(30, DAYS - 40))
        prospect_add(rng.choice(people), registered, registered + timedelta(days=rng.randint(14, 60)), won=False)
    _create_backdated(prospects, "created_at")
    _create_backdated(deals, "created_at")
    copy_create(contacts)
    copy_create(entries)


def calendar_fill(now: datetime) -> int:
    """Today's and tomorrow's workshop calendar at every rooftop: a car in every other slot, those whose time
    has passed arrived, in the workshop or done; the rest booked or confirmed. Returns the appointments made."""
    if Appointment.objects.exists():
        return 0
    services = list(ServiceType.objects.order_by("position", "pk"))
    advisors = list(get_user_model().objects.filter(role=StaffRole.SERVICE_ADVISOR, is_active=True).order_by("pk"))
    cars = list(VehicleLink.objects.filter(person__isnull=False, ended_on__isnull=True, kind=VehicleLink.Kind.OWNER)
                .order_by("pk").values_list("vehicle_id", "person_id"))
    if not services or not cars:
        return 0
    made = 0
    for rooftop in Rooftop.objects.order_by("pk"):
        midnight = datetime.combine(now.astimezone(ZoneInfo(rooftop.timezone)).date(), time.min,
                                    tzinfo=ZoneInfo(rooftop.timezone))
        slots = Slot.objects.filter(rooftop=rooftop, starts_at__gte=midnight,
                                    starts_at__lt=midnight + timedelta(days=2)).order_by("starts_at")
        for n, slot in enumerate(slots[::2]):
            service = services[n % len(services)]
            vehicle_id, person_id = cars[(made + n) % len(cars)]
            if slot.starts_at + timedelta(hours=2) < now:
                status = Appointment.Status.DONE
            elif slot.starts_at < now:
                status = (Appointment.Status.ARRIVED, Appointment.Status.IN_PROGRESS)[n % 2]
            else:
                status = (Appointment.Status.BOOKED, Appointment.Status.CONFIRMED, Appointment.Status.CONFIRMED)[n % 3]
            load = day_load_for(rooftop, slot.starts_at.astimezone(ZoneInfo(rooftop.timezone)).date(), service)
            Appointment.objects.create(
                rooftop=rooftop, slot=slot, day_load=load, service_type=service, vehicle_id=vehicle_id,
                person_id=person_id, advisor=advisors[n % len(advisors)] if advisors else None, status=status,
                channel=(Appointment.Channel.CRM, Appointment.Channel.ONLINE)[n % 2], labour_hours=service.labour_hours)
            Slot.objects.filter(pk=slot.pk).update(booked=F("booked") + 1)
            DayLoad.objects.filter(pk=load.pk).update(hours_booked=F("hours_booked") + service.labour_hours)
        made += len(slots[::2])
    return made
