"""The platform's public host (APP_DOMAIN): landing page, sign-up, billing webhooks, HQ."""

from django.urls import path

from tenants import operator
from tenants import views as tenant_views
from tenants.billing import signup_views
from tenants.billing import views as billing_views
from tenants.hq import views as hq_views

from .urls_common import urlpatterns as common_urlpatterns

urlpatterns = [
    *common_urlpatterns,
    path("", tenant_views.landing, name="landing"),
    path("pricing/", billing_views.pricing, name="pricing"),
    path("stripe/webhook/", billing_views.stripe_webhook, name="stripe_webhook"),
    path("operator/", operator.console, name="operator_console"),
    path("operator/<int:pk>/suspend/", operator.suspend, name="operator_suspend"),
    path("operator/<int:pk>/reactivate/", operator.reactivate, name="operator_reactivate"),
    path("hq/", hq_views.dashboard, name="hq_dashboard"),
    path("hq/export.csv", hq_views.export_csv, name="hq_export"),
    path("hq/groups/<int:pk>/", hq_views.group_detail, name="hq_group"),
    path("signup/", signup_views.signup_start, name="signup"),
    path("signup/address/", signup_views.slug_check, name="signup_slug_check"),
    path("signup/<uuid:pk>/card/", signup_views.signup_card, name="signup_card"),
    path("signup/<uuid:pk>/", signup_views.signup_progress, name="signup_progress"),
    path("signup/<uuid:pk>/status/", signup_views.signup_status, name="signup_status"),
    path("signup/<uuid:pk>/retry/", signup_views.signup_retry, name="signup_retry"),
]
