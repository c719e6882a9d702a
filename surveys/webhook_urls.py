"""Outgoing webhooks to URLs that analysts type in: only public hosts, no redirects.

A survey's `alert_webhook_url` is posted to by our worker, from inside our network. Without a
check, an analyst could make it post to the cloud metadata service, a database's HTTP port or an
admin interface on localhost (blind SSRF). So:

- when a survey is saved (form, API, admin: the model field's validator), the URL must be http(s),
  and a host written as an IP address, or `localhost`, must be public;
- when posting, the host is resolved and EVERY address it resolves to must be public (not private,
  loopback, link-local, multicast, reserved or unspecified, nor an IPv4 one of those wrapped in an
  IPv6 address); the connection then goes to those checked addresses, not to a second look-up
  (which a DNS rebinding answer could point elsewhere), while TLS still verifies the host name;
- a redirect is never followed (http.client does not follow them): it counts as a refusal.

The ALERT_WEBHOOK_ALLOW_PRIVATE setting (environment, default off) lifts the address checks, for tests and
local setups that receive alerts on 127.0.0.1.
"""

import http.client
import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

SCHEMES = {"http": http.client.HTTPConnection, "https": http.client.HTTPSConnection}
NAT64 = ipaddress.ip_network("64:ff9b::/96")
LOCAL_NAMES = ("localhost", "localhost.localdomain")


class RefusedURL(ValueError):
    """A URL we will not post to, whatever happens: a permanent failure, never retried."""


def private_allowed() -> bool:
    return settings.ALERT_WEBHOOK_ALLOW_PRIVATE


def _embedded(ip) -> list:
    """The address and any IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64)."""
    found = [ip]
    if ip.version == 6:
        found += [v4 for v4 in (ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())) if v4 is not None]
        if ip in NAT64:
            found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone id is not part of the address
    return all(
        one.is_global and not (
            one.is_private or one.is_loopback or one.is_link_local or one.is_multicast
            or one.is_reserved or one.is_unspecified
        )
        for one in _embedded(ip)
    )


def _literal_ip(host: str):
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def _split(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, or RefusedURL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RefusedURL(f"not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise RefusedURL("only http and https URLs are posted to")
    if not parts.hostname:
        raise RefusedURL("the URL has no host")
    if _literal_ip(parts.hostname) is None:
        try:  # the resolver asks for the IDNA form, which has no label over 63 characters
            parts.hostname.encode("idna")
        except UnicodeError:
            raise RefusedURL("the host is not a valid domain name") from None
    return scheme, parts.hostname, port or SCHEMES[scheme].default_port


def validate_webhook_url(url: str) -> None:
    """The save-time check (no DNS look-up: that is done when posting)."""
    if not url:
        return
    try:
        _, host, _ = _split(url)
    except RefusedURL as exc:
        raise ValidationError(f"Refused webhook URL: {exc}.", code="webhook_url") from None
    if private_allowed():
        return
    ip = _literal_ip(host)
    if host.lower().rstrip(".") in LOCAL_NAMES or host.lower().endswith(".localhost") or (
        ip is not None and not is_public(str(ip))
    ):
        raise ValidationError(
            "Refused webhook URL: the host must be a public address, not a private or local one.",
            code="webhook_url",
        )


def public_addresses(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, all checked; RefusedURL if any one is not public.
    A failed look-up raises OSError (socket.gaierror): worth trying again later."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not private_allowed():
        for address in addresses:
            if not is_public(address):
                raise RefusedURL(f"{host} resolves to {address}, which is not a public address")
    return addresses


def _connect_to(addresses: list[str]):
    """A socket.create_connection to the checked addresses, in order, instead of the host name."""

    def create_connection(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None, **kwargs):
        error = None
        for ip in addresses:
            try:
                return socket.create_connection((ip, address[1]), timeout, source_address, **kwargs)
            except OSError as exc:
                error = exc
        raise error or OSError("no address to connect to")

    return create_connection


def post(url: str, body: bytes, *, headers: dict, timeout: float) -> int:
    """POST `body` to a public http(s) URL; returns the HTTP status (a redirect is not followed).

    RefusedURL: the URL or an address of its host is refused. OSError, http.client.HTTPException:
    the other side could not be reached or answered badly.
    """
    scheme, host, port = _split(url)
    addresses = public_addresses(host, port)
    connection = SCHEMES[scheme](host, port, timeout=timeout)
    # http.client's own hook for opening the socket: the Host header and TLS (SNI, certificate
    # check) still use the host name, but the TCP connection goes to the addresses checked above.
    connection._create_connection = _connect_to(addresses)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", target, body=body, headers=headers)
        reply = connection.getresponse()
        reply.read(64 * 1024)  # a bounded read: the answer's body is of no use to us
        return reply.status
    finally:
        connection.close()
