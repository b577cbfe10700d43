"""The platform's public host (APP_DOMAIN): landing page, sign-up, billing webhooks, HQ."""

from django.urls import path

from tenants import views as tenant_views

from .urls_common import urlpatterns as common_urlpatterns

urlpatterns = [
    *common_urlpatterns,
    path("", tenant_views.landing, name="landing"),
]
