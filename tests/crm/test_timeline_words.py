"""What the CRM writes on a timeline is stored as an event and its data, and each reader reads it in their own
language, with dates, numbers, distances and money in their locale; what staff type stays as typed."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.conf import settings
from django.utils import translation
from django_tenants.utils import schema_context

from accounts.models import User
from crm.customers.households import household_add
from crm.customers.importing import pipeline
from crm.customers.importing.jobs import job_create
from crm.customers.models import Person, TimelineEntry
from crm.customers.services import note_add, vehicle_link_end
from crm.customers.timeline import entry_words

pytestmark = pytest.mark.django_db

SERVICE_FILE = ("Заказ-наряд;Дата;Клиент;Телефон;VIN;Марка;Модель;Пробег;Работы;Сумма\n"
                "R-77;14.03.2026;Орлова Мария;+7 916 123-45-67;XTA21099012345678;Lada;Vesta;15200;ТО-2;8650,50\n")


def _import(tenant):
    with schema_context(tenant.schema_name):
        admin = User.objects.filter(role="dealer_admin").first()
        job = job_create(by=admin, name="service.csv", data=SERVICE_FILE.encode(), kind="service")
        pipeline.job_run(job)
        return Person.objects.get(family_name="Орлова")


def _page(client, person, language):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client.get(f"/crm/customers/{person.pk}/").content.decode()


@time_machine.travel(datetime(2026, 3, 20, 9, tzinfo=UTC), tick=False)
def test_an_imported_visit_reads_in_each_readers_language_with_their_numbers_units_and_dates(cast):
    person = _import(cast.b)  # a Russian group, in roubles
    with schema_context(cast.b.schema_name):
        visit = TimelineEntry.objects.get(person=person, kind=TimelineEntry.Kind.VISIT)
        assert visit.event == "visit" and visit.data["order"] == "R-77" and visit.data["km"] == 15200
        assert visit.data["amount"] == "8650.50" and visit.data["currency"] == "RUB"
        spouse = Person.objects.create(family_name="Орлов", given_name="Пётр")
        household_add(person=spouse, member=person, by=None)
        link = person.vehicle_links.get()
        vehicle_link_end(link=link, by=None, ended_on=date(2026, 3, 19))
        note_add(person=person, by=None, summary="Звонила, просила перезвонить", body="")

    client = cast.signed_in(cast.b, cast.b_admin)
    russian, english, chinese = (_page(client, person, language) for language in ("ru", "en", "zh-hans"))

    assert "Визит в сервис, заказ-наряд R-77: ТО-2" in russian
    assert "Итого: 8\xa0650,50\xa0RUB" in russian and "Пробег: 15\xa0200 км" in russian
    assert "Вошёл в семью «" in russian and "19 марта 2026" in russian
    assert "Service visit, order R-77: ТО-2" in english
    assert "Total: 8,650.50\xa0RUB" in english and "Mileage: 15,200 km" in english
    assert "Joined the household “" in english and "March 19, 2026" in english
    # Django writes Chinese numbers without grouping
    assert "售后到店，工单 R-77" in chinese and "15200 公里" in chinese and "2026年3月19日" in chinese
    assert "已创建客户档案（导入 service.csv）" in chinese
    for page in (russian, english, chinese):
        assert "Звонила, просила перезвонить" in page  # a note reads as its author typed it
    assert "Service visit" not in russian + chinese and "Визит" not in english + chinese


def test_an_event_whose_data_cannot_be_worded_shows_what_was_stored(cast):
    with schema_context(cast.a.schema_name):
        person = Person.objects.create(family_name="Vogel")
        entry = TimelineEntry.objects.create(person=person, kind=TimelineEntry.Kind.SYSTEM, event="vehicle_linked",
                                             data={"relation": "owner"}, summary="Skoda linked: Owner",
                                             occurred_at=datetime(2026, 3, 1, tzinfo=UTC))
        unknown = TimelineEntry(person=person, event="retired_event", data={}, summary="as stored", body="details")
        with translation.override("ru"):
            assert entry_words(entry) == ("Skoda linked: Owner", "")  # no vehicle in its data: as stored
            assert entry_words(unknown) == ("as stored", "details")


def test_another_groups_staff_and_an_owner_read_nothing_of_the_timeline(cast):
    person = _import(cast.b)
    assert cast.signed_in(cast.a, cast.a_admin).get(f"/crm/customers/{person.pk}/timeline/").status_code == 404
    assert cast.signed_in(cast.b, cast.b_admin).get(f"/crm/customers/{person.pk}/timeline/").status_code == 200
