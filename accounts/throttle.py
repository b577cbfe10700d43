"""Per-visitor limits for public forms (sign-up, web enquiries): who is asking, and how often."""

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The visitor's address: behind the platform's proxy, from the header the proxy sets (configured:
    a visitor could forge any other), else the connection's."""
    header = settings.CLIENT_IP_HEADER
    return (request.META.get(header, "").split(",")[-1].strip() if header else "") or request.META.get(
        "REMOTE_ADDR", "")


def over_hourly_limit(key: str, per_hour: int) -> bool:
    """Count one more attempt under ``key`` (name the tenant in it where counters must not be shared)
    and say whether this hour's allowance is used up."""
    cache.add(key, 0, timeout=3600)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, count := 1, timeout=3600)
    return count > per_hour
