"""The webhook client: a signed POST of one batch, and which addresses may be posted to.

The receiver checks ``X-Mobilize-Signature`` (``sha256=`` and the hex HMAC-SHA256,
keyed with the plan's secret, of ``f"{X-Mobilize-Timestamp}.{body}"``), rejects
old timestamps, and keeps ``Idempotency-Key``: a batch re-sent after a failure
or a lost worker carries the same key, so the receiver can drop the repeat.

An organizer must not point our worker at our own network (a database port, a
cloud's metadata service). The host name is looked up once, every address it
gives is checked, and the connection goes to a checked address: a second lookup
could answer differently (DNS rebinding). No proxy from the environment is used
and no redirect is followed, since either would send the POST somewhere unchecked.
"""

import hashlib
import hmac
import ipaddress
import socket
import time
from functools import cache
from urllib.parse import SplitResult, unquote, urlsplit

import certifi
import urllib3
from flask import current_app
from urllib3.exceptions import ConnectTimeoutError, HTTPError

USER_AGENT = "Mobilize-Delivery/1"

# Not globally reachable (IANA), but missing from the tables of the Pythons we support.
_NOT_GLOBAL = [ipaddress.ip_network(net) for net in ("192.0.0.0/24", "3fff::/20", "5f00::/16", "fec0::/10")]


class DeliveryError(Exception):
    """A delivery that did not go through; ``permanent`` ones are not worth retrying."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _is_public(address: str) -> bool:
    """Whether an address is on the public internet; an IPv6 one that carries an IPv4 one must carry a public one."""
    ip = ipaddress.ip_address(address)
    if not ip.is_global or ip.is_multicast or ip.is_reserved or any(ip in net for net in _NOT_GLOBAL):
        return False
    if ip.version == 6:
        return all(_is_public(str(inner)) for inner in (ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())) if inner)
    return True


def _split(url: str) -> tuple[SplitResult, str]:
    """The URL's parts and its host name in ASCII (IDNA); DeliveryError when it is not a full web address."""
    parts = urlsplit(url)
    try:
        host = (parts.hostname or "").encode("idna").decode()
        parts.port  # noqa: B018 - a port that is not a number from 0 to 65535 raises ValueError
    except (UnicodeError, ValueError):
        host = ""
    if parts.scheme not in ("https", "http") or not host:
        raise DeliveryError("Enter a full web address starting with https://.", permanent=True)
    return parts, host


def check_url(url: str) -> list[str]:
    """The addresses a POST to ``url`` may connect to, from one lookup; DeliveryError when it must not be sent.

    Unless DELIVERY_ALLOW_LOCAL_WEBHOOKS=1 is named in the environment (the tests' own
    receiver), only https to addresses that are all public. A host name that does not
    resolve is the one problem that may pass by itself, so it is not permanent.
    """
    parts, host = _split(url)
    allow_local = current_app.config["DELIVERY_ALLOW_LOCAL_WEBHOOKS"]
    if not allow_local and parts.scheme != "https":
        raise DeliveryError("Use an https:// address, so signatures are encrypted on the way.", permanent=True)
    try:
        infos = socket.getaddrinfo(host, parts.port, type=socket.SOCK_STREAM)
    except OSError:
        raise DeliveryError(f"The host name {host} does not resolve.") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not allow_local and not all(_is_public(address) for address in addresses):
        raise DeliveryError("That address is on a private network; use a public https:// address.", permanent=True)
    return addresses


@cache
def _pools() -> urllib3.PoolManager:
    """One keep-alive pool manager per worker process (created after the fork); it reads no proxy settings."""
    return urllib3.PoolManager(maxsize=10)


def send(url: str, addresses: list[str], body: bytes, headers: dict, timeout: float) -> urllib3.BaseHTTPResponse:
    """POST to the first of ``addresses`` that takes the connection, never to a new lookup of the URL's host.

    The Host header, TLS's SNI and the certificate's check still use the URL's host name.
    """
    parts, host = _split(url)
    authority = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    headers = {**headers, "Host": authority}
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers.update(urllib3.make_headers(basic_auth=credentials))
    tls = {"server_hostname": host, "ca_certs": certifi.where()} if parts.scheme == "https" else None
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    for address in addresses:
        pool = _pools().connection_from_host(address, parts.port, parts.scheme, pool_kwargs=tls)
        try:
            return pool.urlopen("POST", target, body=body, headers=headers, redirect=False, retries=False,
                                timeout=timeout)
        except ConnectTimeoutError as error:  # nothing was sent: try the next address
            failure = error
    raise failure


def post(url: str, secret: str, idempotency_key: str, body: bytes) -> None:
    """POST the batch; raises DeliveryError unless the receiver answers 2xx in time."""
    addresses = check_url(url)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Idempotency-Key": idempotency_key,
        "X-Mobilize-Timestamp": timestamp,
        "X-Mobilize-Signature": "sha256=" + sign(secret, timestamp, body),
    }
    try:
        response = send(url, addresses, body, headers, current_app.config["DELIVERY_WEBHOOK_TIMEOUT"])
    except HTTPError as error:
        raise DeliveryError(f"{type(error).__name__}: {error}"[:500]) from error
    if not 200 <= response.status < 300:
        detail = response.data.decode("utf-8", "replace").strip()[:200]
        raise DeliveryError(f"The webhook answered HTTP {response.status}" + (f": {detail}" if detail else "."))
