"""Signed and hashed values bound to the dealer group that issued them.

Every schema shares one SECRET_KEY, and ids repeat in every schema: a value signed over ``[prospect id, user
id]`` on one dealer group's host names rows of every other group too, and a signature made for one is valid for
all. So nothing in the product signs with a bare salt: it goes through here, where the salt carries the current
schema (``connection.schema_name``, set once per request by django-tenants and per task by
tenant-schemas-celery). A value minted on group B's host is then a bad signature on group A's, whatever it names.

Random tokens stored as a hash (survey, RSVP, invitation, API key, sign-up welcome links) need none of this:
they are looked up in the current schema's table only, so another group's token finds nothing.
"""

from typing import Any

from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.messages.storage.session import SessionStorage
from django.core import signing
from django.db import connection
from django.utils.crypto import salted_hmac

BadSignature = signing.BadSignature


def tenant_salt(purpose: str) -> str:
    """``purpose`` bound to the current schema: ``"<purpose>:<schema>"``."""
    return f"{purpose}:{connection.schema_name}"


def signer(purpose: str) -> signing.Signer:
    return signing.Signer(salt=tenant_salt(purpose))


def dumps(value: Any, *, purpose: str) -> str:
    """``value`` signed (with the time) for ``purpose`` in the current schema; read back with ``loads``."""
    return signing.dumps(value, salt=tenant_salt(purpose))


def loads(token: str, *, purpose: str, max_age: int | None = None) -> Any:
    """What ``dumps`` signed for ``purpose`` in this same schema, no older than ``max_age`` seconds.

    Raises ``BadSignature`` (``SignatureExpired`` is one) for anything altered, expired, signed for another
    purpose or in another schema."""
    return signing.loads(token, salt=tenant_salt(purpose), max_age=max_age)


def keyed_hash(purpose: str, value: str) -> str:
    """HMAC-SHA256 hex of ``value`` for ``purpose`` in the current schema: for codes kept only as a hash."""
    return salted_hmac(tenant_salt(purpose), value, algorithm="sha256").hexdigest()


class TenantCookieStorage(CookieStorage):
    """Django's message cookie, signed for the current schema: the cookie carries text Django renders as safe
    when it was marked so, and another group's host (any sibling subdomain can set a cookie for the parent
    domain) must not be able to plant one here."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.signer = signing.get_cookie_signer(salt=tenant_salt(self.key_salt))


class MessageStorage(FallbackStorage):
    """Django's default (a cookie, the session for what does not fit), with the cookie bound to the schema."""

    storage_classes = (TenantCookieStorage, SessionStorage)
