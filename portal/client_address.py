"""
The address a request came from, as sign-in throttling (django-axes) and the portal's own
throttles count it.

Behind N reverse proxies, each appending the address it received the request from to
X-Forwarded-For (nginx: `proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;`), the
client is the N-th entry from the right. The entries to its left are whatever the client itself
sent, so they are never read: a client cannot choose the address it is counted against. With
N = 0 (the default) the header is ignored and the connection's own address is the client.

Why not django-ipware (axes' default reader): it counts as "proxies" the entries listed after
the client, so one nginx is `proxy_count=0`, not 1; in strict mode it refuses every chain in
which the client sent a header of its own (all such clients would share the proxy's address);
and in loose mode it skips entries it cannot parse, so a client that sends an unclosed quote
(`X-Forwarded-For: 1.2.3.4, "`) swallows the address the proxy appended and is counted as
1.2.3.4. Taking the N-th entry from the right by position has none of these problems.
"""

import ipaddress
import logging

from django.conf import settings
from django.http import HttpRequest

logger = logging.getLogger(__name__)


def parse_address(value: str) -> str | None:
    """
    One address as proxies write it (`203.0.113.7`, `203.0.113.7:51234`, `2001:db8::7`,
    `[2001:db8::7]:443`), in one spelling, so that one client is always one key: IPv6 in
    lower-case short form, and an IPv4 client seen over IPv6 (`::ffff:203.0.113.7`) as IPv4.
    """
    value = value.strip()
    if value.startswith("[") and "]" in value:
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address)


def client_address(request: HttpRequest) -> str | None:
    """The client's address: `AXES_CLIENT_IP_CALLABLE`, and every throttle of the portal."""
    connection = request.META.get("REMOTE_ADDR") or ""
    proxies = settings.AXES_IPWARE_PROXY_COUNT
    if not proxies:
        return parse_address(connection) or connection or None
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    client = parse_address(hops[-proxies]) if len(hops) >= proxies else None
    if client is None:
        # The proxies did not write what AXES_IPWARE_PROXY_COUNT says they would: a request that
        # bypassed them, or the wrong count. The connection's address is the one fact we have.
        logger.warning(
            "No client address %d from the right in X-Forwarded-For %.200r; counting the request "
            "against %s. Check AXES_IPWARE_PROXY_COUNT and the proxy's configuration.",
            proxies,
            request.META.get("HTTP_X_FORWARDED_FOR", ""),
            connection,
        )
        return parse_address(connection) or connection or None
    return client
