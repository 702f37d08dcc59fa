"""Behind nginx, each signer keeps their own address (TRUSTED_PROXIES=1); without it, no forwarded header is trusted.

Signers are told apart by the loopback address they connect from (127.0.0.2, 127.0.0.3, ...);
each also sends a forged X-Forwarded-For, which must never become their address.
"""

import re

import pytest
import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import select

from mobilize.petitions.models import Signature
from tests.support import infra
from tests.support.web import csrf_token_from

STARTED = re.compile(r'name="started" type="hidden" value="([^"]+)"')
FORGED = "203.0.113.66"


class FromAddress(HTTPAdapter):
    """Connections from one local address, as if from another machine."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def sign_from(address: str, base: str, slug: str, email: str) -> int:
    session = requests.Session()
    session.mount("http://", FromAddress(address))
    session.headers.update({"X-Forwarded-For": FORGED, "Connection": "close"})
    html = session.get(f"{base}/petitions/{slug}", timeout=30).text
    data = {"csrf_token": csrf_token_from(html), "started": STARTED.search(html).group(1), "given_name": "Sam",
            "family_name": "Signer", "email": email, "postal_code": "10115", "country": "DE"}
    return session.post(f"{base}/petitions/{slug}/sign", data=data, allow_redirects=False, timeout=30).status_code


@pytest.fixture(params=[0, 1], ids=["no-trusted-proxy", "one-trusted-proxy"])
def behind_nginx(request, process_env):
    """(TRUSTED_PROXIES, gunicorn's own URL, nginx's URL in front of it), with one signature a minute per address."""
    env = {**process_env, "TRUSTED_PROXIES": str(request.param), "PETITION_SIGN_RATE_LIMIT": "1/minute",
           "PETITION_MIN_FILL_SECONDS": "0"}
    app_server, direct = infra.start_gunicorn(env, workers=1, threads=2)
    proxy, proxied = infra.start_nginx(direct)
    yield request.param, direct, proxied
    proxy.stop()
    app_server.stop()


def _addresses(db, petition) -> dict[str, str]:
    db.session.expire_all()
    return dict(db.session.execute(select(Signature.ip_address, Signature.ip_address).where(
        Signature.petition_id == petition.id)).all())


def test_each_signer_behind_the_proxy_has_their_own_address_and_limit(behind_nginx, db, petitions):
    trusted, direct, proxied = behind_nginx
    petition = petitions.petition()
    first = sign_from("127.0.0.2", proxied, petition.slug, "ana@example.org")
    second = sign_from("127.0.0.3", proxied, petition.slug, "ben@example.org")

    assert first == 302
    if trusted:
        assert second == 302  # a different person, with a limit of their own
        assert set(_addresses(db, petition)) == {"127.0.0.2", "127.0.0.3"}
    else:
        assert second == 429  # everyone seems to be nginx: one shared bucket
        assert set(_addresses(db, petition)) == {"127.0.0.1"}


def test_a_forged_forwarded_header_never_becomes_the_address(behind_nginx, db, petitions):
    trusted, direct, proxied = behind_nginx
    petition = petitions.petition()
    assert sign_from("127.0.0.4", direct, petition.slug, "cy@example.org") == 302
    # Straight to gunicorn: with no proxy trusted, the connection's own address; with one, the forged
    # header is what a proxy would have written, which is why TRUSTED_PROXIES must match the deployment.
    assert set(_addresses(db, petition)) == ({FORGED} if trusted else {"127.0.0.4"})
