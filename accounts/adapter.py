from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        """Staff accounts are created by their dealer admin; nobody signs up for one.

        Car owners' self sign-up arrives with the owner portal.
        """
        return False

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        user = request.user
        if getattr(request, "tenant", None) is not None and getattr(user, "is_dealer_staff", False):
            return "/crm/"
        return super().get_login_redirect_url(request)
