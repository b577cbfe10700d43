"""How the owners' club's timeline events read, in the reader's language (``crm.customers.timeline``)."""

from django.utils.translation import gettext_lazy

from crm.customers.timeline import event_wording


def register() -> None:
    event_wording("club_joined", gettext_lazy("Joined %(club)s, card %(number)s"))
    event_wording("club_left", gettext_lazy("Left the owners' club"))
    event_wording("voucher_used", gettext_lazy("Voucher used: %(what)s"))
