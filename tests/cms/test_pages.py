"""The dealer's site: every page type shows its content, offers run from one day to another, the rooftops
page comes from the CRM, an event page shows the CRM's seats, and a few queries render any page."""

from datetime import time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from cms.models import EventPage, NewsPage, PromotionIndexPage, PromotionPage
from cms.selectors import club_news
from crm.customers.services import person_create
from crm.dealerships.models import OpeningHours, Rooftop
from crm.loyalty.services import club_join
from crm.marketing.models import Event, EventInvitation
from portal.models import CustomerLink

pytestmark = pytest.mark.django_db


def test_every_page_type_renders_with_its_content(cast, site_a):
    client = cast.client(cast.a)

    home = client.get("/")
    assert home.status_code == 200
    text = home.text
    assert "Your car in good hands" in text  # the hero
    assert 'href="/my/book/"' in text  # the booking call to action
    assert 'href="/enquiry/"' in text and "Ask about a car or a test drive" in text  # and the way to sales
    assert "Winter tyres fitted: 20% off" in text  # current promotions
    assert "Summer air-con check" not in text  # ended
    assert 'href="/events/event-' in text and "Upcoming events" in text  # the CRM event, linked to its page
    assert "Owners&#x27; club" in text and 'href="/club/"' in text  # the club teaser, to the club page
    assert '<nav class="site-nav"' in text and 'href="/faq/"' in text  # the site's menu

    pages = {
        "/promotions/": "Winter tyres fitted: 20% off",
        "/promotions/winter-tyres/": "Storage of your summer set",
        "/events/": "6:30",
        "/news/": "Longer opening hours on Saturdays",
        "/news/news-1/": "our workshops are now open from 8 am to 2 pm",
        "/club/": "Platinum",
        "/faq/": "<summary>How do I book a service visit?</summary>",
        "/dealerships/": "Pudong",
        "/about/": "original parts and honest prices",
    }
    for path, content in pages.items():
        response = client.get(path)
        assert response.status_code == 200, path
        assert content in response.text, path


def test_an_offer_is_listed_while_valid_and_says_when_it_has_ended(cast, site_a):
    client = cast.client(cast.a)
    with schema_context(cast.a.schema_name):
        index = PromotionIndexPage.objects.get()
        today = timezone.localdate()
        last_day = index.add_child(instance=PromotionPage(title="Last day", slug="last-day", valid_from=today,
                                                          valid_until=today))
        index.add_child(instance=PromotionPage(title="Not yet", slug="not-yet", valid_from=today + timedelta(days=1)))

    listed = client.get("/promotions/").text
    assert "Last day" in listed  # the last day is included
    assert "Winter tyres" in listed
    assert "Summer air-con check" not in listed and "Not yet" not in listed

    ended = client.get("/promotions/summer-air-con/")
    assert ended.status_code == 200  # no 404: whoever follows an old link learns it is over
    assert "This offer ended on" in ended.text and "See the current offers" in ended.text
    assert "This offer starts on" in client.get("/promotions/not-yet/").text
    with schema_context(cast.a.schema_name):
        assert last_day.has_ended(today + timedelta(days=1)) and not last_day.has_ended(today)


def test_an_offer_names_its_rooftops_or_all_of_them(cast, site_a):
    client = cast.client(cast.a)

    assert "Pudong" in client.get("/promotions/winter-tyres/").text
    assert "At all our dealerships" in client.get("/promotions/summer-air-con/").text


def test_the_rooftops_page_shows_address_phone_hours_and_a_map_link(cast, site_a):
    text = cast.client(cast.a).get("/dealerships/").text

    assert "88 Century Avenue, Shanghai" in text
    assert 'href="tel:+862155550100"' in text
    assert "<th scope=\"row\">Monday</th><td>08:00–18:00</td>" in text
    assert "<th scope=\"row\">Saturday</th><td>08:00–14:00</td>" in text
    assert "<th scope=\"row\">Sunday</th><td>Closed</td>" in text
    assert 'href="https://www.openstreetmap.org/search?query=88%20Century%20Avenue%2C%20Shanghai"' in text
    assert "Alpha Berlin" in text  # every active rooftop of the CRM


def test_the_event_page_shows_the_rooftops_local_time_and_the_seats_left(cast, site_a):
    with schema_context(cast.a.schema_name):
        person = person_create(by=None, fields={"family_name": "Gast", "given_name": "Greta"})
        EventInvitation.objects.create(event=site_a.event, person=person, token_hash="x" * 64,
                                       status=EventInvitation.Status.ACCEPTED, guests=2)
    client = cast.client(cast.a)

    page = client.get(f"/events/event-{site_a.event.pk}/").text
    assert "6:30 p.m." in page  # Shanghai time, whatever the dealer group's time zone
    assert "Pudong" in page
    assert '<dd class="site-seats">17</dd>' in page  # 20 seats, one guest with two more
    assert "By invitation" in page and "Sign up" not in page  # a preview evening: by invitation only
    with schema_context(cast.a.schema_name):
        Event.objects.filter(pk=site_a.event.pk).update(kind=Event.Kind.CLUB)
        starts = timezone.now() + timedelta(days=3)
        Event.objects.create(name="Fleet meeting: Acme GmbH with Herr Schmidt", kind=Event.Kind.FLEET_MEETING,
                             capacity=5, starts_at=starts, ends_at=starts + timedelta(hours=2))
    club = client.get(f"/events/event-{site_a.event.pk}/").text
    assert 'class="button button--large" href="/my/club/"' in club  # members answer in the portal
    home = client.get("/").text
    with schema_context(cast.a.schema_name):
        published = EventPage.objects.get(event=site_a.event).title
    assert published in home and "Acme" not in home  # only events the dealer published a page for

    with schema_context(cast.a.schema_name):
        site_a.event.cancelled_at = timezone.now()
        site_a.event.save(update_fields=["cancelled_at"])
    cancelled = client.get(f"/events/event-{site_a.event.pk}/").text
    assert "This event has been cancelled." in cancelled and "Sign up" not in cancelled
    assert "Spring preview" not in client.get("/").text  # no longer upcoming on the home page


def test_club_news_is_for_the_club_and_the_portal_reads_it_in_the_visitors_language(cast, site_b):
    client = cast.client(cast.b)
    client.cookies["django_language"] = "en"

    listed = client.get("/news/").text
    assert "Longer opening hours on Saturdays" in listed
    assert "Club members first" not in listed
    teaser = client.get("/news/news-3/").text
    assert "Club members first" in teaser and "The rest is for our club members." in teaser
    assert "a week before everyone else" not in teaser
    with schema_context(cast.b.schema_name):  # signed in is not enough: a current club member reads it all
        owner = User.objects.create_user("member@bravo.test", cast.password)
        person = person_create(by=None, fields={"family_name": "Mitglied"}, emails=["member@bravo.test"])
        CustomerLink.objects.create(user=owner, person=person, proof="email")
    member = cast.signed_in(cast.b, "member@bravo.test")
    member.cookies["django_language"] = "en"
    assert "a week before everyone else" not in member.get("/news/news-3/").text
    with schema_context(cast.b.schema_name):
        club_join(person=person, accepted_terms=True, by=None, source="test")
    assert "a week before everyone else" in member.get("/news/news-3/").text

    with schema_context(cast.b.schema_name):
        from django.utils import translation

        with translation.override("ru"):
            assert [page.title for page in club_news()] == ["Участникам клуба — первыми: новые модели"]
        with translation.override("en"):
            assert [page.title for page in club_news()] == ["Club members first: the new models"]
        assert NewsPage.objects.filter(for_club_members=True).count() == 2


def _queries(client, path):
    client.get(path)  # image renditions are made on the first view
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def test_home_and_rooftops_pages_take_a_bounded_number_of_queries(cast, site_a, django_assert_max_num_queries):
    client = cast.client(cast.a)
    home, rooftops = _queries(client, "/"), _queries(client, "/dealerships/")
    # Of these, 3 find the tenant, 4 are Wagtail's routing, 2 check page view restrictions, 1 the branding,
    # 1 the page's language (for <html lang>).
    with django_assert_max_num_queries(20):
        client.get("/")
    with django_assert_max_num_queries(17):
        client.get("/dealerships/")

    with schema_context(cast.a.schema_name):  # more of everything the pages list
        index = PromotionIndexPage.objects.get()
        for number in range(4):
            index.add_child(instance=PromotionPage(title=f"Offer {number}", slug=f"offer-{number}",
                                                   valid_from=timezone.localdate(), image=site_a.home.hero_image))
        for number in range(3):
            Event.objects.create(name=f"Evening {number}", kind=Event.Kind.CLUB, rooftop=site_a.rooftop,
                                 starts_at=site_a.event.starts_at + timedelta(days=number),
                                 ends_at=site_a.event.ends_at + timedelta(days=number), capacity=10)
            rooftop = Rooftop.objects.create(name=f"Branch {number}", city="Berlin")
            for weekday in range(5):
                OpeningHours.objects.create(rooftop=rooftop, weekday=weekday, opens=time(9), closes=time(17))

    assert _queries(client, "/") == home
    assert _queries(client, "/dealerships/") == rooftops


def test_listing_pages_keep_a_heading_outline_for_screen_readers(cast, site_a):
    client = cast.client(cast.a)
    for path in ("/promotions/", "/events/"):
        text = client.get(path).text
        assert '<h2 class="site-card__title">' in text and "<h3" not in text, path  # h1, then h2 per card
