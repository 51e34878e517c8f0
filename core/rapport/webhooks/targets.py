"""Where a webhook may be sent: public addresses only, unless the administrator allows more.

A URL's host is resolved once per request and every address it resolves to is checked with
:mod:`ipaddress`; the request then connects to the checked address itself (the host name goes
in the ``Host`` header and, for HTTPS, in SNI and the certificate check), so a DNS answer that
changes between the check and the connection (DNS rebinding) cannot reach an internal host.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """The URL may not be called (its address is not public, or it cannot be resolved)."""


def is_public(address: IPAddress) -> bool:
    """False for private, loopback, link-local, multicast, reserved and unspecified
    addresses (IPv4-mapped IPv6 addresses are judged by the IPv4 address they carry)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def check_url(url: str) -> str | None:
    """Why ``url`` cannot be a webhook target by its form alone (None when it can)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "url_invalid"
    if parts.scheme not in ("http", "https"):
        return "url_scheme"
    if not parts.hostname:
        return "url_host"
    if port == 0:
        return "url_invalid"
    return None


async def resolve(host: str, port: int, allow_private: bool) -> IPAddress:
    """The address to connect to for ``host``; raises :class:`TargetRefused` if any address
    the name resolves to is not public (and private targets are not allowed)."""
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except socket.gaierror as exc:
            raise TargetRefused(f"cannot resolve {host}: {exc.strerror}") from exc
        # An IPv6 link-local answer may carry a scope ("fe80::1%eth0"): judge the address.
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        if not addresses:
            raise TargetRefused(f"{host} resolves to no address")
    if not allow_private:
        for address in addresses:
            if not is_public(address):
                raise TargetRefused(
                    f"{host} resolves to {address}, which is not a public address"
                    " (allow private targets in the webhook settings to call it)"
                )
    return addresses[0]
