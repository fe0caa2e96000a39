"""Where a webhook may be sent: never inside the service's own network.

A webhook URL is checked when it is registered and again at every delivery: its
scheme (https only in production), and every address its host resolves to, which
must be public (`ipaddress`'s `is_global`) or inside a network the operator listed
(ROLECALL_WEBHOOK_ALLOWED_NETWORKS; loopback outside production by default). The
delivery then connects to the address it checked, not to whatever a second lookup
would answer, so a name that resolves to a public address at the check and to
169.254.169.254 a moment later (DNS rebinding) cannot take the request inside.
Redirects are never followed: a 3xx could point anywhere.

The resolver is a parameter, so tests make a name resolve where they need it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from service.settings import Settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# host, port -> the addresses a connection may go to
Resolver = Callable[[str, int], list[str]]


class DestinationRefused(Exception):
    """The URL may not be sent to; the message says why, for the admin who set it."""


class Unresolvable(DestinationRefused):
    """The host has no address now: refused at registration, but at delivery a
    failure that may pass (a DNS outage), so the delivery is tried again."""


def resolve(host: str, port: int) -> list[str]:
    """The system resolver's addresses for `host` (every family), in its order."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise Unresolvable(f"url's host {host!r} does not resolve") from error
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class Destination:
    """A checked URL and the address a delivery to it connects to."""

    url: str
    host: str
    port: int
    scheme: str
    address: str


def _unmapped(address: Address) -> Address:
    # ::ffff:10.0.0.1 reaches 10.0.0.1: judge it as the IPv4 address it is.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True)
class DestinationPolicy:
    allow_http: bool
    allowed_networks: tuple[Network, ...]
    resolver: Resolver = resolve

    @classmethod
    def from_settings(cls, settings: Settings, resolver: Resolver = resolve) -> DestinationPolicy:
        return cls(
            allow_http=not settings.is_production,
            allowed_networks=settings.webhook_networks,
            resolver=resolver,
        )

    def allows(self, address: Address) -> bool:
        address = _unmapped(address)
        # 0.0.0.0 and :: reach the local machine, and multicast is no receiver: refused
        # even if an operator's network list happens to contain them.
        if address.is_unspecified or address.is_multicast:
            return False
        if any(address in network for network in self.allowed_networks):
            return True
        return address.is_global

    def allows_url(self, url: str) -> bool:
        try:
            self.check(url)
        except DestinationRefused:
            return False
        return True

    def check(self, url: str) -> Destination:
        """The destination `url` names, with the address to connect to; raises
        DestinationRefused when the URL or any address of its host is not allowed."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as error:
            raise DestinationRefused(f"url is not a valid URL: {error}") from None
        scheme = parts.scheme.lower()
        host = parts.hostname
        if scheme not in {"http", "https"} or not host:
            raise DestinationRefused("url must be an absolute http(s) URL")
        if scheme == "http" and not self.allow_http:
            raise DestinationRefused("url must use https")
        port = port or (443 if scheme == "https" else 80)
        addresses = self.resolver(host, port)
        if not addresses:
            raise Unresolvable(f"url's host {host!r} does not resolve")
        for text in addresses:
            # Every address must pass: a name with one public and one private address
            # would otherwise reach inside whenever the private one is tried.
            address = ipaddress.ip_address(text.split("%", 1)[0])
            if not self.allows(address):
                raise DestinationRefused(
                    f"url's host {host!r} resolves to {address}, which is not a public address"
                )
        return Destination(url, host, port, scheme, addresses[0])


class PinnedAdapter(HTTPAdapter):
    """Connects to the checked address while the URL keeps the hostname, so the Host
    header, TLS SNI and the certificate check are all for the hostname.

    Written here because no maintained library does it for requests with urllib3 2
    (`advocate`, the one made for this, was last released in 2020 and does not work
    with urllib3 2). It overrides the hook requests documents for this purpose
    (`build_connection_pool_key_attributes`) and nothing private."""

    def __init__(self, destination: Destination) -> None:
        super().__init__(max_retries=0)
        self.destination = destination

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        if urlsplit(request.url or "").hostname != self.destination.host:
            raise requests.exceptions.InvalidURL("request to a host other than the checked one")
        host_params["host"] = self.destination.address
        if self.destination.scheme == "https":
            pool_kwargs["server_hostname"] = self.destination.host
            pool_kwargs["assert_hostname"] = self.destination.host
        return host_params, pool_kwargs

    def add_headers(self, request: requests.PreparedRequest, **kwargs: Any) -> None:
        # urllib3 would name the address in Host, as it is what it connects to.
        default = 443 if self.destination.scheme == "https" else 80
        host = self.destination.host
        if ":" in host:
            host = f"[{host}]"
        if self.destination.port != default:
            host = f"{host}:{self.destination.port}"
        request.headers["Host"] = host


def post(
    destination: Destination, body: bytes, headers: Mapping[str, str], timeout: float
) -> requests.Response:
    """POST `body` to the checked destination: to its pinned address, no redirects, and
    no proxy from the environment (a proxy would resolve the name again)."""
    with requests.Session() as session:
        session.trust_env = False
        session.mount(f"{destination.scheme}://", PinnedAdapter(destination))
        return session.post(
            destination.url,
            data=body,
            headers=dict(headers),
            timeout=timeout,
            allow_redirects=False,
        )
