"""Which addresses a webhook may go to, and that the POST goes to the address that was checked.

The tests' own receiver listens on 127.0.0.1, so the test app allows local webhooks;
each test here turns that off, as every configuration is unless the environment names it.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import certifi
import pytest
from sqlalchemy import select
from urllib3.exceptions import SSLError

from mobilize.delivery import webhook
from mobilize.delivery.models import DeliveryPlan
from mobilize.extensions import db
from tests.delivery.receiver import Receiver, certificates
from tests.support.session import login
from tests.support.web import submit

# Every way we know to write an address of our own machine, network or provider, and each kind of
# address that is not on the public internet.
INTERNAL = [
    "https://127.0.0.1:5432/", "https://169.254.169.254/latest/meta-data/", "https://localhost/",
    "https://2130706433/", "https://0x7f.1/", "https://0177.0.0.1/", "https://127.1/", "https://0/",
    "https://0.0.0.0/", "https://10.0.0.1/", "https://172.16.0.1/", "https://192.168.1.1/", "https://100.64.0.1/",
    "https://192.0.0.8/", "https://198.18.0.1/", "https://224.0.0.1/", "https://239.255.255.250/",
    "https://240.0.0.1/", "https://255.255.255.255/",
    "https://[::1]/", "https://[::]/", "https://[::ffff:127.0.0.1]/", "https://[::ffff:a9fe:a9fe]/",
    "https://[::127.0.0.1]/", "https://[fc00::1]/", "https://[fd12:3456::1]/", "https://[fe80::1]/",
    "https://[fec0::1]/", "https://[ff02::1]/", "https://[ff0e::1]/",
    "https://[2002:7f00:1::]/",  # 6to4 around 127.0.0.1
    "https://[2002:a9fe:a9fe::]/",  # 6to4 around 169.254.169.254
    "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo
    "https://[64:ff9b::a9fe:a9fe]/",  # NAT64 around 169.254.169.254
]


def plan_url(petition) -> str:
    return f"/orgs/{petition.organization.slug}/petitions/{petition.uuid}/delivery"


@pytest.fixture
def local_off(app, monkeypatch):
    monkeypatch.setitem(app.config, "DELIVERY_ALLOW_LOCAL_WEBHOOKS", False)


def test_local_webhooks_are_allowed_in_no_configuration_unless_the_environment_names_the_setting():
    code = ("import config, json; "
            "print(json.dumps({n: c.DELIVERY_ALLOW_LOCAL_WEBHOOKS for n, c in config.CONFIGS.items()}))")
    env = {k: v for k, v in os.environ.items() if k != "DELIVERY_ALLOW_LOCAL_WEBHOOKS"}

    def allowed(**extra) -> dict:
        run = subprocess.run([sys.executable, "-c", code], env={**env, **extra}, capture_output=True, text=True,
                             check=True, cwd=Path(__file__).resolve().parents[2])
        return json.loads(run.stdout)

    assert allowed() == {"development": False, "testing": False, "production": False}
    assert allowed(DELIVERY_ALLOW_LOCAL_WEBHOOKS="1") == {"development": True, "testing": True, "production": True}


def test_the_plan_form_refuses_every_internal_address_and_takes_a_public_one(local_off, client, delivery):
    petition = delivery.petition()
    login(client, petition.organizer)
    for url in ["http://127.0.0.1:5432/", "http://169.254.169.254/latest/meta-data/"]:
        response = submit(client, plan_url(petition), {"webhook_url": url, "every_n": "5", "timezone": "UTC"})
        assert response.status_code == 422 and "Use an https:// address" in response.get_data(as_text=True), url
    for url in INTERNAL:
        response = submit(client, plan_url(petition), {"webhook_url": url, "every_n": "5", "timezone": "UTC"})
        assert response.status_code == 422, url
        assert "That address is on a private network" in response.get_data(as_text=True), url
    assert db.session.scalar(select(DeliveryPlan.webhook_url)) in (None, "")

    for url in ["https://93.184.215.14/hook", "https://[2606:4700::1111]/hook"]:
        response = submit(client, plan_url(petition), {"webhook_url": url, "every_n": "5", "timezone": "UTC"})
        assert response.status_code == 302, url
        db.session.expire_all()
        assert db.session.scalar(select(DeliveryPlan.webhook_url)) == url


def test_with_local_webhooks_off_a_post_to_the_receiver_in_any_form_is_refused_before_connecting(local_off,
                                                                                                 receiver):
    port = receiver.port
    for host in ["127.0.0.1", "2130706433", "0x7f.1", "0177.0.0.1", "localhost", "[::ffff:127.0.0.1]",
                 "[::127.0.0.1]", "[::1]"]:
        with pytest.raises(webhook.DeliveryError) as refused:
            webhook.post(f"https://{host}:{port}/hook", "secret", "key", b"{}")
        assert refused.value.permanent and "private network" in str(refused.value), host
    assert receiver.arrivals == []


def test_a_host_name_is_looked_up_once_and_the_post_goes_to_the_public_address_that_was_checked(
        app, local_off, monkeypatch):
    """DNS rebinding: the name answers a public address to the check, then 127.0.0.1 to anyone who asks again.

    The real resolver cannot be made to do that, so socket.getaddrinfo answers for this one name.
    The public address is not ours, so that POST fails; what matters is that no connection
    reached the listener on 127.0.0.1, where a second lookup would have sent it.
    """
    monkeypatch.setitem(app.config, "DELIVERY_WEBHOOK_TIMEOUT", 0.5)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    port = listener.getsockname()[1]
    lookups = []
    real_getaddrinfo = socket.getaddrinfo

    def rebinding(host, *args, **kwargs):
        if host != "rebinding.example":
            return real_getaddrinfo(host, *args, **kwargs)
        lookups.append(host)
        address = "192.88.99.1" if len(lookups) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with pytest.raises(webhook.DeliveryError) as failed:
        webhook.post(f"https://rebinding.example:{port}/hook", "secret", "key", b"{}")
    with pytest.raises(BlockingIOError):
        listener.accept()  # no connection ever reached 127.0.0.1
    listener.close()
    assert len(lookups) == 1 and not failed.value.permanent


def test_the_post_connects_to_the_checked_address_and_names_the_url_host_in_the_request():
    """``localhost`` resolves to 127.0.0.1 (or ::1); given 127.0.0.2 as the checked address, the POST lands there."""
    server = Receiver(address=("127.0.0.2", 0)).start()
    try:
        assert "127.0.0.2" not in {info[4][0] for info in socket.getaddrinfo("localhost", server.port)}
        response = webhook.send(f"http://localhost:{server.port}/hook?x=1", ["127.0.0.2"], json.dumps({}).encode(),
                                {"Content-Type": "application/json"}, timeout=5)
        [arrival] = server.arrivals
        assert response.status == arrival.status == 401  # no secret for this path: the signature is not checked
        assert arrival.host == f"localhost:{server.port}" and arrival.path == "/hook?x=1"
    finally:
        server.stop()


def test_https_to_the_checked_address_keeps_the_host_name_for_sni_and_the_certificate(tmp_path, monkeypatch):
    """The certificate is for hook.example, which no DNS knows: only the pinned address gets the POST there."""
    context, ca_file = certificates(tmp_path, "hook.example")
    monkeypatch.setattr(certifi, "where", lambda: ca_file)  # trust the test CA as a public one
    server = Receiver(tls=context).start()
    try:
        response = webhook.send(f"https://hook.example:{server.port}/hook", ["127.0.0.1"], b"{}", {}, timeout=5)
        [arrival] = server.arrivals
        assert response.status == 401 and arrival.host == f"hook.example:{server.port}"
        assert server.server_names == ["hook.example"]

        with pytest.raises(SSLError, match="Hostname mismatch"):
            webhook.send(f"https://other.example:{server.port}/hook", ["127.0.0.1"], b"{}", {}, timeout=5)
        assert len(server.arrivals) == 1
    finally:
        server.stop()
