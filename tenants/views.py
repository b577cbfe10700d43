from django.core.files.storage import default_storage
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.static import serve


@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "tenants/landing.html")


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """For load balancers and container health checks: the process is up and reaches the database."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except Exception:  # noqa: BLE001 - any failure means unhealthy, and is reported as such
        database = "unavailable"
    status = 200 if database == "ok" else 503
    return JsonResponse({"status": "ok" if status == 200 else "error", "database": database}, status=status)


@require_GET
def media(request: HttpRequest, schema: str, path: str) -> HttpResponse:
    """Serve a file from the current tenant's media folder only.

    ``TenantFileSystemStorage`` keeps each schema's files under ``MEDIA_ROOT/<schema>/`` and puts
    the schema in their URLs. A URL naming another schema than the one this host resolved to is
    a 404, and the document root is the current schema's folder, so another tenant's file does
    not exist from here. ``serve`` refuses paths that climb out of the root.
    """
    if schema != connection.schema_name:
        raise Http404
    return serve(request, path, document_root=default_storage.location)
