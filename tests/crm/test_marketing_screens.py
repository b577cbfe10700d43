"""Marketing screens: a template with merge fields and its preview, a campaign from audience to results,
the sending rules; who may use them, and nothing across tenants."""

import pytest
from django.contrib.auth import get_user_model
from django_tenants.utils import schema_context

from crm.customers.services import consent_record, person_create
from crm.dealerships.models import Rooftop
from crm.marketing import campaigns
from crm.marketing.models import Campaign, MessageTemplate, SendingRules

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(cast):
    with schema_context(cast.a.schema_name):
        get_user_model().objects.create_user("mark@alpha.test", cast.password, role="marketing")
        hamburg = Rooftop.objects.get(name="Alpha Hamburg")
        for n, consent in enumerate((True, True, False)):
            person = person_create(by=None, fields={"family_name": f"Hamburger{n}", "rooftop": hamburg},
                                   emails=[f"h{n}@example.de"])
            if consent:
                consent_record(person=person, by=None, channel="email", purpose="marketing", granted=True,
                               source="form")
        SendingRules.objects.create(quiet_from="00:00", quiet_until="00:00")
    return {"client": cast.signed_in(cast.a, "mark@alpha.test"), "hamburg": hamburg}


def test_a_template_is_written_per_language_checked_and_previewed(cast, marketer):
    client = marketer["client"]
    bad = client.post("/crm/marketing/templates/new/", {
        "name": "Spring", "channel": "email", "purpose": "marketing", "is_active": "on",
        "subject_en": "Spring check", "body_en": "Hello {{ given_name }}, your {{ password }}"})
    assert bad.status_code == 400 and "Unknown merge fields: password" in bad.text
    no_subject = client.post("/crm/marketing/templates/new/", {
        "name": "Spring", "channel": "email", "purpose": "marketing", "body_en": "Hello"})
    assert no_subject.status_code == 400 and "An e-mail needs a subject." in no_subject.text
    saved = client.post("/crm/marketing/templates/new/", {
        "name": "Spring", "channel": "email", "purpose": "marketing", "is_active": "on",
        "subject_en": "Spring check for your {{ car }}", "body_en": "Hello {{ given_name }}!",
        "subject_ru": "Весенний осмотр", "body_ru": "Здравствуйте, {{ given_name }}!"}, follow=True)
    assert "Template saved." in saved.text
    assert "Spring check for your VW Golf" in saved.text and "Здравствуйте, Anna!" in saved.text  # the preview
    with schema_context(cast.a.schema_name):
        template = MessageTemplate.objects.get(name="Spring")
        assert sorted(template.texts.values_list("language", flat=True)) == ["en", "ru"]


def test_a_campaign_from_its_audience_to_its_results(cast, marketer, mailoutbox, django_capture_on_commit_callbacks):
    client = marketer["client"]
    with schema_context(cast.a.schema_name):
        template = MessageTemplate.objects.create(name="Offer", channel="email")
        template.texts.create(language="en", subject="Offer", body="Hello {{ name }}")
    nothing = client.post("/crm/marketing/campaigns/new/", {"name": "All", "template": template.pk,
                                                           "rate_per_minute": 600})
    assert nothing.status_code == 400 and "Choose a segment or at least one filter." in nothing.text
    created = client.post("/crm/marketing/campaigns/new/", {"name": "Hamburg spring", "template": template.pk,
                                                           "rate_per_minute": 600, "rooftop": marketer["hamburg"].pk})
    page = client.get(created["Location"])
    assert page.context["audience"] == {"total": 3, "consented": 2}
    with django_capture_on_commit_callbacks(execute=False) as queued:
        client.post(f"{created['Location']}action/", {"action": "start"})
    assert len(queued) == 1
    with schema_context(cast.a.schema_name):
        campaign = Campaign.objects.get(name="Hamburg spring")
        assert campaigns.campaign_send(campaign.pk, sleep=lambda seconds: None) == "done"
    results = client.get(created["Location"]).context["results"]
    assert (results["sent"], results["refused"], results["reason_no_consent"]) == (2, 1, 1)
    assert len(mailoutbox) == 2
    assert "Cancel the campaign" not in client.get(created["Location"]).text  # a finished campaign offers none
    late = client.post(f"{created['Location']}action/", {"action": "cancel"}, follow=True)
    assert "This campaign has already finished." in late.text


def test_sending_rules_and_who_may_use_marketing(cast, marketer):
    client = marketer["client"]
    assert client.post("/crm/marketing/rules/", {"quiet_from": "20:00", "quiet_until": "08:30",
                                                 "weekly_cap": "0"}).status_code == 400
    assert client.post("/crm/marketing/rules/", {"quiet_from": "20:00", "quiet_until": "08:30",
                                                 "weekly_cap": "3"}).status_code == 302
    with schema_context(cast.a.schema_name):
        rules = SendingRules.current()
        assert (rules.quiet_from.hour, rules.quiet_until.minute, rules.weekly_cap) == (20, 30, 3)
        campaign = Campaign.objects.create(name="Secret", template=MessageTemplate.objects.create(
            name="T", channel="email"), criteria={"rooftop": marketer["hamburg"].pk})
    assert cast.signed_in(cast.a, cast.a_salesperson).get("/crm/marketing/").status_code == 403
    bravo = cast.signed_in(cast.b, cast.b_admin)
    assert bravo.get(f"/crm/marketing/campaigns/{campaign.pk}/").status_code == 404
    assert bravo.post(f"/crm/marketing/campaigns/{campaign.pk}/action/", {"action": "start"}).status_code == 404
    assert "Secret" not in bravo.get("/crm/marketing/").text
    assert cast.client(cast.a).get("/crm/marketing/").status_code == 302


def test_the_campaign_list_shows_each_campaigns_counters_a_page_at_a_time(cast, marketer):
    client = marketer["client"]
    with schema_context(cast.a.schema_name):
        template = MessageTemplate.objects.create(name="Offer", channel="email")
        template.texts.create(language="en", subject="Offer", body="Hello {{ name }}")
        sent = campaigns.campaign_create(name="Sent one", template=template, by=None,
                                         criteria={"rooftop": marketer["hamburg"].pk})
        campaigns.audience_freeze(sent)
        Campaign.objects.filter(pk=sent.pk).update(status="sending")
        campaigns.campaign_send(sent.pk, sleep=lambda seconds: None)
    first = client.get("/crm/marketing/")
    row = next(c for c in first.context["page"] if c.pk == sent.pk)
    assert (row.recipients_total, row.sent_count, row.refused_count) == (3, 2, 1)
    assert '<td class="num">3</td><td class="num">2</td>' in first.text

    with schema_context(cast.a.schema_name):
        Campaign.objects.bulk_create(Campaign(name=f"Draft {n}", template=template, criteria={}) for n in range(30))
    listed = client.get("/crm/marketing/")
    assert len(listed.context["page"]) == 25 and listed.context["page"].paginator.count == 31
    assert len(client.get("/crm/marketing/", {"page": 2}).context["page"]) == 6
