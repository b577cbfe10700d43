"""URLs served on every host, public and tenant alike."""

from django.urls import include, path

from tenants import views as tenant_views

urlpatterns = [
    path("health/", tenant_views.health, name="health"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
]
