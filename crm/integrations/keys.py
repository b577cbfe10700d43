"""API keys: made and revoked by the dealer admin, shown once, stored as a hash, limited per minute.

A key reads ``dk_<prefix>_<secret>``: the prefix finds the row, the SHA-256 of the whole key must match it.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from .models import Access, ApiKey, Module

SCOPES = [f"{module}:{access}" for module in Module.values for access in Access.values]
# The last-used time is written at most this often per key, not on every request.
LAST_USED_EVERY = timedelta(minutes=1)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def key_create(*, name: str, scopes: list[str], by: User, system: str = "api",
               rate_per_minute: int = 600) -> tuple[ApiKey, str]:
    """A new key and its plain text, which is never stored and cannot be shown again."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValidationError({"scopes": _("Unknown scopes: %(scopes)s.") % {"scopes": ", ".join(unknown)}})
    if not scopes:
        raise ValidationError({"scopes": _("Choose what the key may read or change.")})
    prefix = secrets.token_hex(4)
    plain = f"dk_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(name=name.strip(), prefix=prefix, key_hash=_hash(plain), scopes=sorted(set(scopes)),
                 system=system.strip() or "api", rate_per_minute=rate_per_minute, created_by=by)
    key.full_clean()
    key.save()
    return key, plain


@transaction.atomic
def key_revoke(*, key: ApiKey, by: User) -> ApiKey:
    """Revoked keys are refused from the next request on; the row stays for the record."""
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is None:
        key.revoked_at, key.revoked_by = timezone.now(), by
        key.save(update_fields=["revoked_at", "revoked_by"])
    return key


def key_authenticate(plain: str) -> ApiKey | None:
    """The live key this text is, or None. Marks it used (at most once a minute)."""
    parts = plain.split("_", 2)  # the secret may hold "_" itself
    if len(parts) != 3 or parts[0] != "dk":
        return None
    key = ApiKey.objects.filter(prefix=parts[1], revoked_at__isnull=True).first()
    if key is None or not hmac.compare_digest(key.key_hash, _hash(plain)):
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_EVERY:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def rate_take(key: ApiKey) -> int | None:
    """Count a request against the key's limit for this minute: None if it may go on, else the seconds to wait.

    A fixed window per minute in the shared cache (atomic increments; the cache key carries the schema)."""
    now = timezone.now()
    window = f"api-rate:{key.pk}:{now:%Y%m%d%H%M}"
    cache.add(window, 0, timeout=70)
    try:
        count = cache.incr(window)
    except ValueError:  # expired between add and incr
        cache.add(window, 1, timeout=70)
        count = 1
    if count > key.rate_per_minute:
        return 60 - now.second
    return None
