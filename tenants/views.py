import mimetypes

from django.core.files.storage import default_storage
from django.db import connection
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET


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

    Both media storages (``TenantFileSystemStorage`` on disk, ``tenants.storage.TenantS3Storage`` on S3)
    keep each schema's files under the schema's own folder or prefix and put the schema in their URLs. A
    URL naming another schema than the one this host resolved to is a 404, and the file is read through
    the storage, which looks only under the current schema, so another tenant's file does not exist from
    here; a path that climbs out of it is refused (400). The response may not run script or be sniffed
    into HTML, whatever the file turns out to be.
    """
    if schema != connection.schema_name or not path.startswith(PUBLIC_MEDIA_FOLDERS):
        raise Http404
    try:
        file = default_storage.open(path)
    except OSError as missing:  # no such file, or a folder
        raise Http404 from missing
    response = FileResponse(file, content_type=mimetypes.guess_type(path)[0] or "application/octet-stream")
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
    response["X-Content-Type-Options"] = "nosniff"
    return response
