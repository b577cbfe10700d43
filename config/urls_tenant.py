"""A dealer group's host (<slug>.APP_DOMAIN): CRM, CMS, owners' portal and the Wagtail site."""

from django.urls import include, path, re_path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from tenants import views as tenant_views

from .urls_common import urlpatterns as common_urlpatterns

urlpatterns = [
    *common_urlpatterns,
    path("crm/", include("crm.urls")),
    path("cms/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    re_path(r"^media/(?P<schema>[a-z0-9_]+)/(?P<path>.+)$", tenant_views.media, name="media"),
    # Wagtail serves everything else: the dealer's site.
    path("", include(wagtail_urls)),
]
