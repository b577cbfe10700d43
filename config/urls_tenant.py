"""A dealer group's host (<slug>.APP_DOMAIN): CRM, CMS, owners' portal and the Wagtail site."""

from django.urls import include, path, re_path
from django.views.generic import RedirectView
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from crm.integrations.api.base import not_found as api_not_found
from crm.integrations.api.urls import api
from crm.marketing import views as marketing_views
from portal import views as portal_views
from tenants import views as tenant_views
from tenants.billing import signup_views
from tenants.hq import views as hq_views

from .urls_common import urlpatterns as common_urlpatterns

# Wagtail ships its own password-only login views for the admin and for private pages. They would
# skip allauth's second factor and login throttling, so both lead to the one login instead.
to_account_login = RedirectView.as_view(pattern_name="account_login", query_string=True)

urlpatterns = [
    *common_urlpatterns,
    path("cms/login/", to_account_login),
    path("_util/login/", to_account_login),
    path("crm/", include("crm.urls")),
    path("api/v1/", api.urls),
    re_path(r"^api/(?P<path>.*)$", api_not_found),
    path("my/", include("portal.urls")),
    path("r/<str:code>/", portal_views.referral, name="referral_landing"),
    path("billing/", include("tenants.billing.urls")),
    path("hq-sharing/", hq_views.sharing, name="hq_sharing"),
    path("compare/", hq_views.compare, name="hq_compare"),
    path("survey/", include("crm.surveys.public_urls")),
    path("enquiry/", include("crm.sales.public_urls")),
    path("unsubscribe/<str:token>/", marketing_views.unsubscribe, name="unsubscribe"),
    path("m/o/<str:token>.gif", marketing_views.message_opened, name="message_opened"),
    path("m/c/<str:token>/", marketing_views.message_clicked, name="message_clicked"),
    path("event/<str:token>/", marketing_views.event_answer, name="event_answer"),
    path("sms/inbound/", marketing_views.sms_inbound, name="sms_inbound"),
    path("signup/welcome/<str:token>/", signup_views.welcome, name="signup_welcome"),
    path("cms/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    re_path(r"^media/(?P<schema>[a-z0-9_]+)/(?P<path>.+)$", tenant_views.media, name="media"),
    # Wagtail serves everything else: the dealer's site.
    path("", include(wagtail_urls)),
]
