from django.core.files.storage import default_storage
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.static import serve


@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "tenants/landing.html")


# Public by nature: the images of the dealer's site, which Wagtail validated as images on upload.
# Documents go through Wagtail's own view (/documents/<id>/…), which enforces their privacy;
# anything else under MEDIA_ROOT (customer files to come) is never served from here.
PUBLIC_MEDIA_FOLDERS = ("images/", "original_images/")


@require_GET
def media(request: HttpRequest, schema: str, path: str) -> HttpResponse:
    """Serve a public image of the current tenant's site.

    ``TenantFileSystemStorage`` keeps each schema's files under ``MEDIA_ROOT/<schema>/`` and puts
    the schema in their URLs. A URL naming another schema than the one this host resolved to is
    a 404, and the document root is the current schema's folder, so another tenant's file does
    not exist from here. ``serve`` refuses paths that climb out of the root. The response may
    not run script or be sniffed into HTML, whatever the file turns out to be.
    """
    if schema != connection.schema_name or not path.startswith(PUBLIC_MEDIA_FOLDERS):
        raise Http404
    response = serve(request, path, document_root=default_storage.location)
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
    response["X-Content-Type-Options"] = "nosniff"
    return response
