"""django-csp's middleware, with ``frame-ancestors`` following each response's X-Frame-Options, and
Wagtail's admin allowed the inline scripts it still writes (``CSP_WAGTAIL_ADMIN_UPDATE``, its prefix only).

Django decides per view who may frame a page (``X_FRAME_OPTIONS``, ``@xframe_options_exempt`` on the
enquiry form for dealers' own sites, ``sameorigin`` for Wagtail's preview); the policy says the same
to browsers that read only CSP, so no second list of framable views can drift from the first.
"""

from csp.constants import NONE, SELF
from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase

_FRAME_ANCESTORS = {"DENY": [NONE], "SAMEORIGIN": [SELF]}


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(self, request: HttpRequest, response: HttpResponseBase,
                         report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only=report_only)
        if report_only:
            return parts
        update = dict(parts.update or {})
        ancestors = _FRAME_ANCESTORS.get(response.get("X-Frame-Options", "").upper())
        if ancestors:
            update["frame-ancestors"] = ancestors
        if request.path_info.startswith(settings.CSP_WAGTAIL_ADMIN_PREFIX):
            for directive, sources in settings.CSP_WAGTAIL_ADMIN_UPDATE.items():
                update[directive] = [*update.get(directive, []), *sources]
        parts.update = update
        return parts
