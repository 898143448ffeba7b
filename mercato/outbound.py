"""Addresses Mercato calls on someone's word: webhook endpoints, channel base URLs, a
payment provider's API base.

Whoever registers one could point it inside the network Mercato runs in (a cloud's
metadata service at 169.254.169.254, a database on 10.0.0.5, the machine itself). So a
URL must be https and every address its host resolves to must be public — checked when
the URL is registered, and again by the transport each time it connects (DNS may answer
differently by then), on the address actually connected to. Redirects are never
followed. ``MERCATO_ALLOW_LOCAL_URLS`` lifts all of it, for development, tests and the
demo's simulators.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import httpcore
import httpx

from mercato.config import get_settings
from mercato.errors import FieldError, ValidationFailed


class UnsafeUrl(ValueError):
    """Why a URL may not be called."""


def check_url(url: str) -> str:
    """``url`` if Mercato may call it, else ``UnsafeUrl`` saying why."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # "https://[oops/": an unclosed IPv6 bracket
        raise UnsafeUrl("is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise UnsafeUrl("must be an http(s) URL with a host")
    if get_settings().allow_local_urls:
        return url
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeUrl("has an invalid port") from None
    check_host(host, port)
    if parts.scheme != "https":
        raise UnsafeUrl("must use https")
    return url


def require_safe_url(url: str, loc: tuple[str, ...]) -> str:
    """``check_url`` as a validation error on the field at ``loc``."""
    try:
        return check_url(url)
    except UnsafeUrl as exc:
        raise ValidationFailed(
            f"Mercato may not call {url!r}.",
            [FieldError(loc, f"{exc} (set MERCATO_ALLOW_LOCAL_URLS for local development)")],
        ) from None


def check_host(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, all of them public; else ``UnsafeUrl``."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeUrl(f"{host} does not resolve") from None
    addresses = list(dict.fromkeys(str(entry[4][0]) for entry in found))
    for address in addresses:
        if why := refused_address(address):
            raise UnsafeUrl(f"{host} resolves to {address}, {why}")
    return addresses


def refused_address(address: str) -> str | None:
    """Why Mercato may not connect to ``address``, or None for a public address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    # is_global is False for loopback, private, link-local (cloud metadata), shared
    # address space (CGNAT), reserved and documentation ranges.
    if not ip.is_global or ip.is_multicast:
        return "which is not a public address"
    return None


class _CheckedBackend(httpcore.SyncBackend):
    """Connects only to public addresses: the one it checked is the one it uses."""

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        if get_settings().allow_local_urls:
            return super().connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            addresses = check_host(host, port)
        except UnsafeUrl as exc:
            raise httpcore.ConnectError(f"refused: {exc}") from None
        return super().connect_tcp(addresses[0], port, timeout, local_address, socket_options)


def checked_transport(**options) -> httpx.HTTPTransport:
    """An httpx transport that refuses to connect to non-public addresses. No proxy from
    the environment: the address checked must be the one connected to."""
    transport = httpx.HTTPTransport(trust_env=False, **options)
    # httpx builds its connection pool itself; the backend is where connections open.
    transport._pool._network_backend = _CheckedBackend()
    return transport
