"""Who the client is: behind the platform's own proxies, the address the outermost one saw; without a configured
proxy, the connection's, whatever a header says. Every per-address limit counts that client."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, RequestFactory
from django_tenants.utils import schema_context

from accounts.throttle import client_ip, client_network
from crm.sales.models import Prospect
from tests.crm.test_web_leads import _enquiry

BASE_DIR = Path(__file__).resolve().parent.parent.parent
PROXY = ("X-Forwarded-For", 1)  # CLIENT_IP_HEADER, TRUSTED_PROXY_COUNT of the documented one-proxy set-up
PROXY_ADDRESS = "10.0.0.2"  # the proxy's own address: the connection every request arrives on


def _request(**headers: str):
    return RequestFactory().get("/", REMOTE_ADDR=PROXY_ADDRESS, **headers)


def test_without_a_configured_proxy_no_header_chooses_the_address(settings):
    settings.CLIENT_IP_HEADER, settings.TRUSTED_PROXY_COUNT = "", 0

    request = _request(HTTP_X_FORWARDED_FOR="198.51.100.7", HTTP_X_REAL_IP="198.51.100.8")

    assert client_ip(request) == PROXY_ADDRESS


def test_a_header_is_not_believed_without_a_proxy_count(settings):
    settings.CLIENT_IP_HEADER, settings.TRUSTED_PROXY_COUNT = "X-Forwarded-For", 0

    assert client_ip(_request(HTTP_X_FORWARDED_FOR="198.51.100.7")) == PROXY_ADDRESS


def test_behind_one_proxy_x_forwarded_for_is_read_from_the_right_and_spoofed_entries_are_ignored(settings):
    settings.CLIENT_IP_HEADER, settings.TRUSTED_PROXY_COUNT = "X-Forwarded-For", 1

    spoofed = _request(HTTP_X_FORWARDED_FOR="1.1.1.1, 198.51.100.7")  # the client wrote 1.1.1.1 itself
    garbage = _request(HTTP_X_FORWARDED_FOR="1.1.1.1, not-an-address")
    missing = _request()

    assert client_ip(spoofed) == "198.51.100.7"
    assert client_ip(garbage) == PROXY_ADDRESS and client_ip(missing) == PROXY_ADDRESS


def test_behind_two_proxies_the_address_the_outer_one_saw_counts(settings):
    settings.CLIENT_IP_HEADER, settings.TRUSTED_PROXY_COUNT = "X-Forwarded-For", 2

    through_both = _request(HTTP_X_FORWARDED_FOR="1.1.1.1, 198.51.100.7, 10.0.0.9")
    inner_only = _request(HTTP_X_FORWARDED_FOR="198.51.100.7")

    assert client_ip(through_both) == "198.51.100.7"
    assert client_ip(inner_only) == "198.51.100.7"


def test_a_client_reaching_the_app_directly_cannot_choose_its_address(settings):
    """Behind the configured proxy, someone who connects straight to the app's port (not from the proxies'
    networks) is counted by their own address, whatever X-Forwarded-For they send."""
    settings.CLIENT_IP_HEADER, settings.TRUSTED_PROXY_COUNT = "X-Forwarded-For", 1
    settings.TRUSTED_PROXY_NETWORKS = ["10.0.0.0/24"]

    direct = RequestFactory().get("/", REMOTE_ADDR="203.0.113.50", HTTP_X_FORWARDED_FOR="198.51.100.7")
    elsewhere_private = RequestFactory().get("/", REMOTE_ADDR="192.168.1.5", HTTP_X_FORWARDED_FOR="198.51.100.7")

    assert client_ip(direct) == "203.0.113.50"
    assert client_ip(elsewhere_private) == "192.168.1.5"  # not the proxies' network as configured
    assert client_ip(_request(HTTP_X_FORWARDED_FOR="198.51.100.7")) == "198.51.100.7"  # through the proxy


def test_a_one_address_header_such_as_x_real_ip_is_read_as_the_proxy_sets_it(settings):
    settings.CLIENT_IP_HEADER, settings.TRUSTED_PROXY_COUNT = "X-Real-IP", 1

    assert client_ip(_request(HTTP_X_REAL_IP="[2001:db8::7]:443")) == "2001:db8::7"
    assert client_network(_request(HTTP_X_REAL_IP="2001:db8:0:0:aaaa::7")) == "2001:db8::"  # its /64


def _django(code: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """``code`` run in a fresh process whose settings read ``environment``."""
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=BASE_DIR, capture_output=True,
        text=True, env={"DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": "postgres://x@localhost/x",
                        "PATH": "/usr/bin:/bin", **environment}, timeout=60)


@pytest.mark.parametrize("environment", [{"CLIENT_IP_HEADER": "X-Forwarded-For"}, {"TRUSTED_PROXY_COUNT": "1"}])
def test_settings_refuse_half_a_proxy_configuration(environment):
    result = _django("", **environment)

    assert result.returncode != 0 and "Set CLIENT_IP_HEADER and TRUSTED_PROXY_COUNT together" in result.stderr


def test_allauth_is_told_the_same_proxy_and_reads_the_same_client():
    compare = ("from django.test import RequestFactory; from allauth.core.internal.httpkit import get_client_ip; "
               "from accounts.throttle import client_ip; "
               "r = RequestFactory().get('/', REMOTE_ADDR='10.0.0.2', HTTP_X_FORWARDED_FOR='1.1.1.1, 198.51.100.7, "
               "10.0.0.9'); print(get_client_ip(r), client_ip(r))")

    result = _django(compare, CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR", TRUSTED_PROXY_COUNT="2")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["198.51.100.7", "198.51.100.7"]


@pytest.mark.django_db
def test_visitors_behind_the_proxy_each_have_their_own_enquiry_allowance(cast, settings):
    settings.CLIENT_IP_HEADER, settings.TRUSTED_PROXY_COUNT = PROXY

    def visitor(address: str) -> Client:
        return Client(HTTP_HOST=cast.a.primary_host, REMOTE_ADDR=PROXY_ADDRESS, HTTP_X_FORWARDED_FOR=address)

    busy = [visitor("198.51.100.7").post("/enquiry/", _enquiry(cast.a, given_name=f"N{n}",
                                                               phone=f"+49 151 2345670{n}")) for n in range(6)]
    other = visitor("203.0.113.5").post("/enquiry/", _enquiry(cast.a, given_name="Other", phone="+49 151 99999999"))

    assert [response.status_code for response in busy] == [302] * 5 + [429]
    assert other.status_code == 302
    with schema_context(cast.a.schema_name):
        assert Prospect.objects.count() == 6
