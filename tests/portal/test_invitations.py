"""Staff invite a customer to the owner portal with a single-use link to the address on file; the link makes
that customer's account, once, and gives nothing to anyone else or on another dealer's host."""

import re

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from accounts.models import User
from crm.customers.services import person_create
from portal.models import CustomerLink, OwnerInvitation
from tests.conftest import run_as_the_worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def dora(cast):
    with schema_context(cast.a.schema_name):
        return person_create(by=None, fields={"family_name": "Einladung", "given_name": "Dora"},
                             emails=["dora@example.de"])


def _invite(cast, dora, mailoutbox, django_capture_on_commit_callbacks):
    admin = cast.signed_in(cast.a, cast.a_admin)
    with django_capture_on_commit_callbacks(execute=False) as callbacks, tenant_context(cast.a):
        page = admin.post(f"/my/invite/{dora.pk}/", follow=True)
    assert "Invitation sent to dora@example.de." in page.text
    run_as_the_worker(callbacks)
    assert mailoutbox[-1].to == ["dora@example.de"]
    return re.search(r"https?://[^/\s]+(/my/welcome/[^\s]+/)", mailoutbox[-1].body)[1]


def test_an_invitation_opens_the_customers_account_once(cast, dora, mailoutbox, django_capture_on_commit_callbacks):
    path = _invite(cast, dora, mailoutbox, django_capture_on_commit_callbacks)
    visitor = cast.client(cast.a)
    assert "dora@example.de" in visitor.get(path).text
    short = visitor.post(path, {"password1": "short", "password2": "short"})
    assert short.status_code == 400
    done = visitor.post(path, {"password1": "a-long-secret-42", "password2": "a-long-secret-42"}, follow=True)
    assert "Your account is connected to your customer record" in done.text  # and signed in, in the garage
    with schema_context(cast.a.schema_name):
        owner = User.objects.get(email="dora@example.de")
        assert owner.role == "" and CustomerLink.objects.get(user=owner).person == dora
        assert owner.emailaddress_set.get().verified
    assert cast.client(cast.a).get(path).status_code == 404  # used: it works once
    assert cast.client(cast.b).get(path).status_code == 404  # and never on another dealer's host


def test_an_invitation_gives_nothing_to_another_account_or_after_it_expires(cast, dora, mailoutbox,
                                                                         django_capture_on_commit_callbacks):
    path = _invite(cast, dora, mailoutbox, django_capture_on_commit_callbacks)
    olga = cast.signed_in(cast.a, cast.a_owner)
    refused = olga.post(path, follow=True)
    assert "This invitation is for another address" in refused.text
    with schema_context(cast.a.schema_name):
        assert not CustomerLink.objects.exists()
        OwnerInvitation.objects.update(expires_at=timezone.now())
    assert cast.client(cast.a).get(path).status_code == 404


def test_only_staff_invite_and_only_customers_with_an_address(cast, dora):
    olga = cast.signed_in(cast.a, cast.a_owner)
    assert olga.post(f"/my/invite/{dora.pk}/").status_code == 403
    with schema_context(cast.a.schema_name):
        silent = person_create(by=None, fields={"family_name": "Ohne"})
    page = cast.signed_in(cast.a, cast.a_admin).post(f"/my/invite/{silent.pk}/", follow=True)
    assert "no e-mail address on file" in page.text
    assert cast.signed_in(cast.b, cast.b_admin).post(f"/my/invite/{dora.pk}/").status_code == 404
