"""How a client's address is counted by the rate limits and the burst rules."""

from __future__ import annotations

import ipaddress

from flask import request


def counted_address(ip: str | None) -> str:
    """The address as counted: IPv6 by its /64, which one subscriber usually holds whole (rotating addresses
    inside it must not escape a ceiling); an IPv4-mapped IPv6 address as its IPv4 address."""
    try:
        parsed = ipaddress.ip_address(ip or "")
    except ValueError:
        return ip or "-"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)  # ::ffff:a.b.c.d is the IPv4 address a.b.c.d
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def request_address() -> str:
    """The requester's counted address: the key of the per-address rate limits."""
    return counted_address(request.remote_addr)
