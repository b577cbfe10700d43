"""One phone format on every screen: the international one, whether a number was stored in E.164 or typed by
someone (a company's main number, a rooftop's); what is not a number stays as written."""

import pytest
from django_tenants.utils import schema_context

from crm.customers.models import Company
from crm.customers.normalize import phone_display, phone_tel

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("written", "region", "shown", "dialled"), [
    ("+79161234567", "", "+7 916 123-45-67", "+79161234567"),
    ("8 (916) 123-45-67", "RU", "+7 916 123-45-67", "+79161234567"),
    ("+8613800138000", "RU", "+86 138 0013 8000", "+8613800138000"),
    ("030 1234567", "DE", "+49 30 1234567", "+49301234567"),
    ("reception, ext. 12", "DE", "reception, ext. 12", "12"),
    ("+1 555 0100", "DE", "+1 555 0100", "+15550100"),  # a made-up number typed on a demo site: as written
])
def test_a_number_reads_the_same_way_whoever_wrote_it(written, region, shown, dialled):
    assert (phone_display(written, region), phone_tel(written, region)) == (shown, dialled)


def test_a_companys_typed_number_shows_and_dials_in_the_international_format(cast):
    with schema_context(cast.b.schema_name):
        company = Company.objects.create(legal_name="ООО «Парк»", phone="8 495 123-45-67")
    page = cast.signed_in(cast.b, cast.b_admin).get(f"/crm/customers/companies/{company.pk}/").content.decode()
    assert '<a href="tel:+74951234567">+7 495 123-45-67</a>' in page
    assert cast.signed_in(cast.a, cast.a_admin).get(f"/crm/customers/companies/{company.pk}/").status_code == 404
