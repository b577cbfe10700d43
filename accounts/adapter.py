from dataclasses import dataclass
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme
from django_tenants.utils import get_public_schema_name

from config.celery import enqueue_on_commit

from .mail import email_message_to_dict


@dataclass(frozen=True)
class SiteName:
    name: str
    domain: str


class AccountAdapter(DefaultAccountAdapter):
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
