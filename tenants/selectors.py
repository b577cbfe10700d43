from django.db.models import QuerySet
from django_tenants.utils import get_public_schema_name

from .models import DealerGroup


def dealer_groups() -> QuerySet[DealerGroup]:
    """Every real dealer group: the public schema's own row is platform plumbing, not a customer."""
    return DealerGroup.objects.exclude(schema_name=get_public_schema_name())
