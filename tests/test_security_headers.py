"""Every page carries the headers a security review expects, and no page needs what the policy refuses.

The browser half (Chromium reports no violation while people use the main screens) is in
tests/browser/test_content_security_policy.py.
"""

import re

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db

# (host, path, who signs in): the platform's pages and a dealer's site, CRM, portal, Wagtail and billing.
PAGES = [
    ("platform", "/", None),
    ("platform", "/pricing/", None),
    ("platform", "/signup/?plan=starter", None),
    ("platform", "/accounts/login/", None),
    ("tenant", "/", None),
    ("tenant", "/accounts/login/", None),
    ("tenant", "/enquiry/", None),
    ("tenant", "/crm/", "a_admin"),
    ("tenant", "/crm/customers/", "a_admin"),
    ("tenant", "/crm/marketing/segments/new/", "a_admin"),
    ("tenant", "/billing/", "a_admin"),
    ("tenant", "/cms/", "a_admin"),
    ("tenant", "/my/", "a_owner"),
]


def directives(header: str) -> dict[str, list[str]]:
    parts = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in parts}


def client_for(cast, host: str, who: str | None) -> Client:
    if host == "platform":
        return Client(HTTP_HOST=settings.APP_DOMAIN)
    return cast.signed_in(cast.a, getattr(cast, who)) if who else cast.client(cast.a)


@pytest.mark.parametrize(("host", "path", "who"), PAGES)
def test_every_page_carries_a_content_security_policy_that_its_own_markup_keeps(cast, host, path, who):
    # given a visitor (signed in where the page needs it) on the platform's or a dealer's host
    client = client_for(cast, host, who)

    # when the page is served
    response = client.get(path, follow=True)

    # then it carries the policy, the referrer and permissions policies, and nothing inline it refuses
    assert response.status_code == 200, response.redirect_chain
    policy = directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"], "X-Frame-Options DENY, said to CSP browsers too"
    wagtail_admin = path.startswith(settings.CSP_WAGTAIL_ADMIN_PREFIX)  # its own inline initialisers, there only
    assert ("'unsafe-inline'" in policy["script-src"]) is wagtail_admin
    assert not {"'unsafe-eval'", "*", "data:", "http:", "https:"} & set(policy["script-src"])
    assert "'unsafe-inline'" not in policy["style-src"]
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]

    html = response.content.decode()
    nonces = re.findall(r"'nonce-([^']+)'", " ".join(policy["style-src"]))
    for style in re.findall(r"<style\b[^>]*>", html):
        assert nonces and f'nonce="{nonces[0]}"' in style, f"an inline <style> the policy refuses: {style}"
    for script in re.findall(r"<script\b[^>]*>", html):
        assert wagtail_admin or "src=" in script or re.search(r'type="application/(ld\+)?json"', script), \
            f"an inline script the policy refuses: {script}"
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html), "an inline event handler the policy refuses"
    assert "javascript:" not in html


def test_a_page_another_site_may_frame_says_so_in_its_policy_too(cast):
    # given the enquiry form made for an iframe on the dealer's own website (no X-Frame-Options)
    client = cast.client(cast.a)

    # when it is served
    response = client.get("/enquiry/embed/")

    # then the policy does not forbid framing it either, while the ordinary form stays unframable
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert "frame-ancestors" not in directives(response["Content-Security-Policy"])
    assert directives(client.get("/enquiry/")["Content-Security-Policy"])["frame-ancestors"] == ["'none'"]



def test_a_preview_in_the_wagtail_admin_keeps_the_public_sites_policy(cast):
    """Previews and drafts render the dealer's site with what editors wrote: no inline script may run there,
    though the admin around them needs its own. It holds because Wagtail renders them through a request for the
    page's own address, which gets the public site's policy; this keeps it so."""
    from django_tenants.utils import schema_context
    from wagtail.models import Page

    with schema_context(cast.a.schema_name):
        home = Page.objects.get(depth=2)
    admin = cast.signed_in(cast.a, cast.a_admin)

    draft = admin.get(f"/cms/pages/{home.pk}/view_draft/")
    editor = admin.get(f"/cms/pages/{home.pk}/edit/")

    assert draft.status_code == 200 and editor.status_code == 200
    assert "'unsafe-inline'" not in directives(draft["Content-Security-Policy"])["script-src"]
    assert "'unsafe-inline'" in directives(editor["Content-Security-Policy"])["script-src"]
