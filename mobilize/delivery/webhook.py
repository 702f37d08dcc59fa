"""The webhook client: a signed POST of one batch, and which addresses may be posted to.

The receiver checks ``X-Mobilize-Signature`` (``sha256=`` and the hex HMAC-SHA256,
keyed with the plan's secret, of ``f"{X-Mobilize-Timestamp}.{body}"``), rejects
old timestamps, and keeps ``Idempotency-Key``: a batch re-sent after a failure
or a lost worker carries the same key, so the receiver can drop the repeat.
"""

import hashlib
import hmac
import ipaddress
import socket
import time
from functools import cache
from urllib.parse import urlsplit

import requests
from flask import current_app

USER_AGENT = "Mobilize-Delivery/1"


class DeliveryError(Exception):
    """A delivery that did not go through; ``permanent`` ones are not worth retrying."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def check_url(url: str, resolve: bool = True) -> None:
    """Raise DeliveryError when the worker must not post to this address.

    Unless DELIVERY_ALLOW_LOCAL_WEBHOOKS is set (development, tests), only https
    to public addresses: an organizer must not point our worker at our own network.
    A host name that does not resolve is the one problem that may pass by itself.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise DeliveryError("Enter a full web address starting with https://.", permanent=True)
    if current_app.config["DELIVERY_ALLOW_LOCAL_WEBHOOKS"]:
        return
    if parts.scheme != "https":
        raise DeliveryError("Use an https:// address, so signatures are encrypted on the way.", permanent=True)
    if not resolve:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise DeliveryError(f"The host name {parts.hostname} does not resolve.") from None
    if any(not ipaddress.ip_address(info[4][0].split("%")[0]).is_global for info in infos):
        raise DeliveryError("That address is on a private network; use a public https:// address.", permanent=True)


@cache
def _session() -> requests.Session:
    """One keep-alive session per worker process (created after the fork)."""
    return requests.Session()


def post(url: str, secret: str, idempotency_key: str, body: bytes) -> None:
    """POST the batch; raises DeliveryError unless the receiver answers 2xx in time."""
    check_url(url)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Idempotency-Key": idempotency_key,
        "X-Mobilize-Timestamp": timestamp,
        "X-Mobilize-Signature": "sha256=" + sign(secret, timestamp, body),
    }
    try:
        response = _session().post(url, data=body, headers=headers, allow_redirects=False,
                                   timeout=current_app.config["DELIVERY_WEBHOOK_TIMEOUT"])
    except requests.RequestException as error:
        raise DeliveryError(f"{type(error).__name__}: {error}"[:500]) from error
    if not 200 <= response.status_code < 300:
        detail = response.text.strip()[:200]
        raise DeliveryError(f"The webhook answered HTTP {response.status_code}" + (f": {detail}" if detail else "."))
