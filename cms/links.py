from django.urls import NoReverseMatch, reverse


def portal_url(name: str) -> str:
    """The address of a page of the owners' portal (``portal:book``, ``portal:club``…).

    A portal page not there yet leads to the garage, the portal's front door, rather than breaking
    the dealer's site.
    """
    try:
        return reverse(name)
    except NoReverseMatch:
        return reverse("portal:garage")
