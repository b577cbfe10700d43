"""Security headers on every response: Content-Security-Policy, Permissions-Policy, Referrer-Policy.

The policy allows this site's own scripts and styles and Stripe's (Stripe.js and Elements on the
sign-up and billing pages), nothing inline but a ``<style>`` carrying the request's nonce, and no
plugin, base-URL or framing tricks. Stripe's addresses come from the Stripe settings, so localstripe's
Stripe.js stand-in (``make run``, the browser tests) is allowed at its own origin and the real one in
production. ``config.csp.ContentSecurityPolicyMiddleware`` adds ``frame-ancestors`` to match each
response's X-Frame-Options.
"""

from urllib.parse import urlsplit

from csp.constants import NONCE, NONE, SELF

from .billing import STRIPE_API_BASE, STRIPE_JS_URL


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


_STRIPE_JS = _origin(STRIPE_JS_URL)
if STRIPE_API_BASE:  # localstripe: its Stripe.js stand-in talks to its own API and opens no frame
    _STRIPE_SCRIPTS, _STRIPE_FRAMES, _STRIPE_API = [_STRIPE_JS], [_STRIPE_JS], [_origin(STRIPE_API_BASE)]
else:  # Stripe's published CSP for Stripe.js and Elements (3-D Secure opens hooks.stripe.com in a frame)
    _STRIPE_SCRIPTS = [_STRIPE_JS, "https://*.js.stripe.com"]
    _STRIPE_FRAMES = [_STRIPE_JS, "https://*.js.stripe.com", "https://hooks.stripe.com"]
    _STRIPE_API = ["https://api.stripe.com"]

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        # No inline script anywhere: behaviour lives in static files (htmx, static/js/).
        "script-src": [SELF, *_STRIPE_SCRIPTS],
        # The dealer's brand colours are one inline <style nonce=…> (templates/base.html).
        "style-src": [SELF, NONCE],
        # data: for allauth's TOTP QR code and the SVG icons Wagtail's admin draws inline.
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF, *_STRIPE_API],
        # 'self': Wagtail's preview panel frames the page being edited.
        "frame-src": [SELF, *_STRIPE_FRAMES],
        "worker-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
    },
}

# Wagtail's admin (8.0) still writes inline scripts: the date and time choosers' and inline panels'
# initialisers (wagtailadmin/widgets/*_input.html, panels/inline_panel.html), rendered by form widgets
# that see no request and so no nonce. Under its prefix alone they may run (config.csp): staff-only
# screens that show editors' content escaped; everything else keeps a policy with no inline script.
CSP_WAGTAIL_ADMIN_PREFIX = "/cms/"
CSP_WAGTAIL_ADMIN_UPDATE = {"script-src": ["'unsafe-inline'"]}
# No avatar lookups at gravatar.com from the admin: a third party would learn who edits which site.
WAGTAIL_GRAVATAR_PROVIDER_URL = None

# Only what the product uses: copy buttons (the clipboard), Stripe's card form (payment), full-screen
# media; every other powerful feature is off for this site and anything it frames.
PERMISSIONS_POLICY = {
    "accelerometer": [],
    "autoplay": [],
    "browsing-topics": [],
    "camera": [],
    "clipboard-read": [],
    "clipboard-write": ["self"],
    "display-capture": [],
    "encrypted-media": [],
    "fullscreen": ["self"],
    "geolocation": [],
    "gyroscope": [],
    "hid": [],
    "idle-detection": [],
    "magnetometer": [],
    "microphone": [],
    "midi": [],
    "payment": ["self", _STRIPE_JS],
    "publickey-credentials-get": [],
    "screen-wake-lock": [],
    "serial": [],
    "usb": [],
    "xr-spatial-tracking": [],
}

# Other sites are told nothing of where a visitor came from: links carry tokens (surveys, unsubscribe),
# and a tenant's host names its dealer group.
SECURE_REFERRER_POLICY = "same-origin"
