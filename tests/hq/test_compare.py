"""How we compare: a dealer group's quarter among anonymous peers of its country or its HQs, shown only
from five peers with the figure, never naming them; for the dealer's staff only."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from tenants.hq.services import share_grant
from tenants.models import DealerGroup, HqOrganisation, KpiSnapshot

pytestmark = pytest.mark.django_db

MONTH = date(2026, 10, 1)


def _snapshot(group, retention):
    KpiSnapshot.objects.create(dealer_group=group, period="month", period_start=MONTH,
                               period_end=MONTH + timedelta(days=30), computed_at=timezone.now(),
                               retention_rate=Decimal(retention), customers=Decimal(50))


def _peer(number, country="DE"):
    connection.set_schema_to_public()  # a request in the test left the connection on the tenant's schema
    return DealerGroup.objects.create(name=f"Secret Peer {number}", slug=f"secret{number}", country=country,
                                      schema_name=f"t_secret{number}")


def test_a_quarter_only_from_five_peers_and_no_names(cast):
    _snapshot(cast.a, "70.00")
    peers = [_peer(n) for n in range(4)]
    for peer, retention in zip(peers, ["50.00", "55.00", "60.00", "65.00"], strict=True):
        _snapshot(peer, retention)
    _snapshot(_peer(9, country="FR"), "10.00")  # another country: not a peer
    admin = cast.signed_in(cast.a, cast.a_admin)
    few = admin.get("/compare/")
    retention = next(p for p, _label in few.context["positions"] if p.kpi == "retention_rate")
    assert retention.quartiles is None and "Not enough peers (4 groups have this figure)" in few.text
    _snapshot(_peer(4), "80.00")
    page = admin.get("/compare/")
    retention = next(p for p, _label in page.context["positions"] if p.kpi == "retention_rate")
    assert (retention.quartiles.median, retention.quarter) == (Decimal("60.00"), 4)
    assert "Secret Peer" not in page.text and "secret" not in page.text


def test_peers_of_our_hqs_and_who_may_look(cast):
    _snapshot(cast.a, "70.00")
    brand = HqOrganisation.objects.create(name="Brand", kind="brand")
    share_grant(dealer_group=cast.a, organisation=brand, by_email=cast.a_admin)
    for number in range(5):
        peer = _peer(20 + number, country="IT")
        share_grant(dealer_group=peer, organisation=brand, by_email="x@peer.test")
        _snapshot(peer, str(60 + number))
    page = cast.signed_in(cast.a, cast.a_salesperson).get("/compare/?peers=hq")
    assert next(p for p, _label in page.context["positions"] if p.kpi == "retention_rate").quarter == 4
    assert cast.signed_in(cast.a, cast.a_owner).get("/compare/").status_code == 403
    assert cast.client(cast.a).get("/compare/").status_code == 302
