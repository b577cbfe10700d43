"""URLs served on every host, public and tenant alike; ``/health/`` is answered before them (tenants.health)."""

from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
]
