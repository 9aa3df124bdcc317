"""Who is asking: the client address of a request, believing `X-Forwarded-For` only from trusted proxies.

With `CRAFTSTAGE_TRUSTED_PROXIES` unset the connecting address is the client. When the connection comes
from a trusted proxy, `X-Forwarded-For` is read from the right: each hop a trusted proxy added is skipped
and the first untrusted address is the client (anything left of it was written by the client and is
ignored). uvicorn runs with `proxy_headers=False`, so nothing else rewrites the address first.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.requests import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(setting: str) -> tuple[Network, ...]:
    """`10.0.0.5, 192.168.0.0/16` → networks (the setting was validated when read)."""
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in setting.split(",") if p.strip())


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: str, networks: Iterable[Network]) -> bool:
    ip = _address(address)
    return ip is not None and any(ip in net for net in networks)


def client_address(request: Request, networks: tuple[Network, ...]) -> str:
    """The address to count a request against."""
    peer = request.client.host if request.client else "unknown"
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            ip = _address(hop)
            return str(ip) if ip is not None else "invalid"
    return hops[0] if hops else peer  # every hop is a trusted proxy: the left-most is the client
