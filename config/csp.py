"""django-csp's middleware, with ``frame-ancestors`` following each response's X-Frame-Options.

Django decides per view who may frame a page (``X_FRAME_OPTIONS``, ``@xframe_options_exempt`` on the
enquiry form for dealers' own sites, ``sameorigin`` for Wagtail's preview); the policy says the same
to browsers that read only CSP, so no second list of framable views can drift from the first.
"""

from csp.constants import NONE, SELF
from csp.middleware import CSPMiddleware, PolicyParts
from django.http import HttpRequest
from django.http.response import HttpResponseBase

_FRAME_ANCESTORS = {"DENY": [NONE], "SAMEORIGIN": [SELF]}


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(self, request: HttpRequest, response: HttpResponseBase,
                         report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only=report_only)
        ancestors = _FRAME_ANCESTORS.get(response.get("X-Frame-Options", "").upper())
        if ancestors and not report_only:
            parts.update = {**(parts.update or {}), "frame-ancestors": ancestors}
        return parts
