"""Who is asking, and how often: the client's address behind the platform's proxies, and per-visitor limits
for public forms (sign-up, web enquiries, referral links). allauth's login limits read the same address
(accounts.adapter)."""

import functools
import ipaddress

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.http.request import split_domain_port

# An IPv6 client usually holds a whole /64: counting single addresses would let it rotate through millions.
IPV6_NETWORK_PREFIX = 64


def _address(text: str) -> str:
    """``text`` as a normalised IP address ("1.2.3.4", "::1"; a port or brackets dropped), or ""."""
    text = text.strip()
    if text.startswith("[") or text.count(":") == 1:  # [::1]:443, 1.2.3.4:5678
        text, _port = split_domain_port(text)
        text = text.strip("[]")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return ""
    return str(getattr(address, "ipv4_mapped", None) or address)


@functools.cache
def _trusted_networks(networks: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(network, strict=False) for network in networks)


def _from_trusted_proxy(address: str) -> bool:
    """Whether the connection comes from where the platform's proxies live (``TRUSTED_PROXY_NETWORKS``)."""
    try:
        parsed = ipaddress.ip_address(_address(address))
    except ValueError:
        return False
    return any(parsed in network for network in _trusted_networks(tuple(settings.TRUSTED_PROXY_NETWORKS)))


def behind_trusted_proxy(request: HttpRequest) -> bool:
    """Whether the platform is told of its proxies and this connection comes from one of them: only then do
    headers a proxy writes (the client's address, a request id) say anything."""
    return (bool(settings.CLIENT_IP_HEADER) and settings.TRUSTED_PROXY_COUNT >= 1
            and _from_trusted_proxy(request.META.get("REMOTE_ADDR", "")))


def client_ip(request: HttpRequest) -> str:
    """The client's address: without a configured proxy, the connection's, whatever headers say.

    Behind ``TRUSTED_PROXY_COUNT`` proxies, the address the outermost of them saw, read from
    ``CLIENT_IP_HEADER``: for X-Forwarded-For, that many entries from the right (each trusted proxy appends
    the address it saw; entries further left come from the client and are ignored). Fewer entries than
    proxies means the request skipped the outer ones: the left-most entry, written by a trusted proxy, is
    the best address there is. A missing or malformed header falls back to the connection's address.

    Only a connection from ``TRUSTED_PROXY_NETWORKS`` is a proxy's: someone who reaches the app directly
    (a published port, a mis-set firewall) is counted by their own address, whatever header they send.
    """
    connection_address = request.META.get("REMOTE_ADDR", "")
    if not behind_trusted_proxy(request):
        return connection_address
    header, proxies = settings.CLIENT_IP_HEADER, settings.TRUSTED_PROXY_COUNT
    entries = request.headers.get(header, "").split(",")
    return _address(entries[-min(proxies, len(entries))]) or connection_address


def client_network(request: HttpRequest) -> str:
    """What per-visitor limits count: the client's address, or for IPv6 its /64."""
    address = client_ip(request)
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_NETWORK_PREFIX}", strict=False).network_address)
    return address


def over_hourly_limit(key: str, per_hour: int) -> bool:
    """Count one more attempt under ``key`` (name the tenant in it where counters must not be shared)
    and say whether this hour's allowance is used up."""
    cache.add(key, 0, timeout=3600)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, count := 1, timeout=3600)
    return count > per_hour
