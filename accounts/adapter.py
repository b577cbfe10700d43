import hashlib
from dataclasses import dataclass
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.internal import ratelimit  # allauth's own, which gives the usage back to roll back
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import get_public_schema_name

from config.celery import enqueue_on_commit

from .mail import email_message_to_dict
from .throttle import client_ip, client_network


@dataclass(frozen=True)
class SiteName:
    name: str
    domain: str


class AccountAdapter(DefaultAccountAdapter):
    # The limits below may refuse even the right password at a network the account has not used lately
    # (someone is guessing at it from everywhere): a code by e-mail still signs its owner in.
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "too_many_login_attempts": _("Too many failed sign-in attempts. Try again later, or use “Send me a "
                                     "sign-in code” to sign in with a code sent to your e-mail."),
    }

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Render in the request (links need its host), send from a task once the request commits.

        No SMTP server's latency or outage reaches the person waiting for the page.
        """
        from .tasks import email_send

        # allauth signs its mails with the Sites framework's name, which is empty here: the dealer group's
        # name and host (or the platform's) say who writes.
        request = self.request
        tenant = getattr(request, "tenant", None) if request is not None else None
        if request is not None:
            name = getattr(tenant, "name", "") if tenant is not None and \
                tenant.schema_name != get_public_schema_name() else settings.PLATFORM_NAME
            context = {**context, "current_site": SiteName(name=name, domain=request.get_host())}
        message = self.render_mail(template_prefix, email, context)
        enqueue_on_commit(email_send, email_message_to_dict(message))

    def is_safe_url(self, url: str | None) -> bool:
        """Only this host: ``?next=`` must never lead to another dealer group's subdomain.

        allauth's default accepts every host in ALLOWED_HOSTS, and ``.APP_DOMAIN`` is there.
        """
        if not url:
            return False
        request = self.request
        allowed = {request.get_host()} if request is not None else set()
        return url_has_allowed_host_and_scheme(url, allowed_hosts=allowed,
                                               require_https=request is not None and request.is_secure())

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        """Car owners sign up on their dealer's host (an account without a staff role); staff accounts are
        created by their dealer admin, and nobody signs up on the platform's own host."""
        tenant = getattr(request, "tenant", None)
        return tenant is not None and tenant.schema_name != get_public_schema_name()

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        user = request.user
        tenant = getattr(request, "tenant", None)
        on_dealer_host = tenant is not None and tenant.schema_name != get_public_schema_name()
        if on_dealer_host and getattr(user, "is_dealer_staff", False):
            return "/crm/"
        if on_dealer_host:
            return "/my/"
        if getattr(user, "hq_analyst", None) is not None:  # HQ analysts sign in on the platform's host
            return "/hq/"
        return super().get_login_redirect_url(request)

    def get_signup_redirect_url(self, request: HttpRequest) -> str:
        """A new owner lands in their garage, which says how to add their car (not on the site's home)."""
        return self.get_login_redirect_url(request)

    # Sign-in throttling (config/settings/auth.py, ACCOUNT_RATE_LIMITS): nobody can lock an account out from
    # somewhere else.

    def get_client_ip(self, request: HttpRequest) -> str:
        """allauth's limits count the same client as every other limit here: behind the configured proxies."""
        address = client_ip(request)
        if not address:
            raise PermissionDenied("Unable to determine the client's address.")
        return address

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        """allauth's per-account failure count ("login_failed", per key) counts per account *and* network:
        guesses from one place lock out that place only. A password reset clears it for the resetting network."""
        return f"{_account_key(credentials)}|{client_network(request)}"

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """allauth's limits per network and per account at one network, then the cap on guesses at the
        account from networks it has not signed in from (``login_failed_account``). Like allauth's own, the
        counts of an attempt with the right password are given back."""
        super().pre_authenticate(request, **credentials)
        account = _account_key(credentials)
        if cache.get(_known_network_key(account, client_network(request))):
            return
        usage = ratelimit.consume(request, app="allauth.account", action="login_failed_account", key=account)
        if not usage:
            self._rollback_login_failed_rl_usage()
            raise self.validation_error("too_many_login_attempts")
        self._login_failed_rl_usage.usage.extend(usage.usage)

    def login(self, request: HttpRequest, user: Any) -> None:
        """Signed in, past every stage (a second factor too): this network is the account's own for a while."""
        super().login(request, user)
        if user.email:
            cache.set(_known_network_key(_account_key({"email": user.email}), client_network(request)),
                      True, timeout=settings.LOGIN_KNOWN_NETWORK_DAYS * 86400)


def _account_key(credentials: dict[str, Any]) -> str:
    """The account a sign-in is for: the dealer group (every host of it) and the login, lowercased."""
    login = credentials.get("email", credentials.get("username", "")).lower()
    return f"{connection.schema_name}:{login}"


def _known_network_key(account: str, network: str) -> str:
    return "login-known:" + hashlib.sha256(f"{account}|{network}".encode()).hexdigest()
