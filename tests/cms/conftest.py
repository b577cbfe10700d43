"""A dealer's site built by the demo builder, with a workshop's hours and an upcoming CRM event."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from cms.demo import site_demo_build
from cms.models import HomePage
from crm.dealerships.models import OpeningHours, Rooftop
from crm.marketing.models import Event


@dataclass(frozen=True)
class DemoSite:
    home: HomePage
    event: Event
    rooftop: Rooftop


def demo_site_build(tenant, language: str) -> DemoSite:
    """In ``tenant``'s schema: a Shanghai rooftop open Monday to Saturday, an evening there in ten days,
    and the demo site in ``language`` (plus English)."""
    with schema_context(tenant.schema_name):
        rooftop = Rooftop.objects.create(name="Pudong", city="Shanghai", address="88 Century Avenue",
                                         phone="+86 21 5555 0100", timezone="Asia/Shanghai")
        for weekday in range(6):
            OpeningHours.objects.create(rooftop=rooftop, weekday=weekday, opens=time(8),
                                        closes=time(18) if weekday < 5 else time(14))
        day = (timezone.now() + timedelta(days=10)).astimezone(ZoneInfo("Asia/Shanghai")).date()
        starts = datetime.combine(day, time(18, 30), tzinfo=ZoneInfo("Asia/Shanghai"))
        event = Event.objects.create(name="Spring preview", kind=Event.Kind.PREVIEW, rooftop=rooftop,
                                     starts_at=starts, ends_at=starts + timedelta(hours=2), capacity=20)
        home = site_demo_build(dealer_name=tenant.name, language=language, rooftops=[rooftop])
    return DemoSite(home=home, event=event, rooftop=rooftop)


@pytest.fixture
def site_a(cast) -> DemoSite:
    """Alpha's site, in English only."""
    return demo_site_build(cast.a, "en")


@pytest.fixture
def site_b(cast) -> DemoSite:
    """Bravo's site in Russian, its main language, and in English."""
    return demo_site_build(cast.b, "ru")
