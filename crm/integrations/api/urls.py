"""/api/v1/: the routers of every module on one NinjaAPI, its OpenAPI schema (/api/v1/openapi.json) and
browsable docs (/api/v1/docs, Swagger UI served from the app's own static files)."""

from .base import api
from .customers import router as customers
from .marketing import router as marketing
from .sales import router as sales
from .service import reference
from .service import router as service

for router in (customers, sales, service, marketing, reference):
    api.add_router("", router)

__all__ = ["api"]
