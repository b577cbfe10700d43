from django.http import HttpRequest
from django_tenants.utils import get_public_schema_name


def tenant(request: HttpRequest) -> dict[str, object]:
    """The dealer group of this host, or None on the public site."""
    current = getattr(request, "tenant", None)
    if current is None or current.schema_name == get_public_schema_name():
        return {"dealer_group": None}
    return {"dealer_group": current}
