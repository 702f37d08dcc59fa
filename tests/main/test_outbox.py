"""The development mail outbox: never a way into someone's account.

Mail holds password-reset links and supporters' addresses. The page exists only in the
embedded setup (no DATABASE_URL, no MAIL_SERVER) and only for signed-in site administrators.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import requests

from mobilize.accounts import admins
from tests.support import infra
from tests.support.factories import PASSWORD
from tests.support.session import login
from tests.support.web import csrf_token_from


def _post_form(session: requests.Session, url: str, data: dict) -> requests.Response:
    token = csrf_token_from(session.get(url, timeout=30).text)
    return session.post(url, data={"csrf_token": token, **data}, allow_redirects=False, timeout=30)


@pytest.fixture
def production_shape_without_mail_server(process_env):
    """gunicorn and a Celery worker with DATABASE_URL and REDIS_URL set, MOBILIZE_ENV unset and no MAIL_SERVER:
    the configuration in which the outbox page once gave anyone the reset links."""
    instance = Path(tempfile.mkdtemp(prefix="mobilize-instance-"))
    env = {k: v for k, v in process_env.items() if k not in ("MOBILIZE_ENV", "MAIL_SERVER", "MAIL_PORT")}
    env["MOBILIZE_INSTANCE_DIR"] = str(instance)
    server, base = infra.start_gunicorn(env, workers=1, threads=2)
    worker = infra.start_celery_worker(env, concurrency=1)
    yield base, instance / "outbox"
    worker.stop()
    server.stop()


def test_the_reset_link_takeover_through_the_outbox_fails(production_shape_without_mail_server, make, client):
    base, outbox_folder = production_shape_without_mail_server
    victim, _ = make.organizer(email="victim@example.org")
    attacker = requests.Session()

    # 1. The attacker asks for a reset link for the victim; the worker writes the mail to a file, as configured.
    assert _post_form(attacker, f"{base}/password/forgot", {"email": victim.email}).status_code in (200, 302)
    infra.wait_until(lambda: "/password/reset/" in "".join(path.read_text() for path in outbox_folder.glob("*.log")),
                     timeout=60, what="the reset mail, written to a file")

    # 2. ... and cannot read it over the web, anonymous or signed in as an organizer of their own.
    assert attacker.get(f"{base}/dev/outbox", timeout=30).status_code == 404
    intruder, _ = make.organizer(email="intruder@example.org")
    assert _post_form(attacker, f"{base}/login", {"email": intruder.email, "password": PASSWORD}).status_code == 302
    page = attacker.get(f"{base}/dev/outbox", timeout=30)
    assert page.status_code == 404 and "/password/reset/" not in page.text
    assert "Development mail outbox" not in attacker.get(f"{base}/", timeout=30).text

    # 3. The victim's password still works.
    login(client, victim)


@pytest.mark.parametrize(("variables", "shown"), [
    ({}, True),
    ({"DATABASE_URL": "postgresql://mobilize@db.internal/mobilize"}, False),
    ({"DATABASE_URL": "sqlite:////srv/mobilize.db"}, False),
    ({"MAIL_SERVER": "smtp.example.org"}, False),
])
def test_the_outbox_page_exists_only_in_the_embedded_setup(variables, shown):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MAIL_SERVER", "MOBILIZE_ENV")}
    result = subprocess.run(
        [sys.executable, "-c", "import config; print(config.config_from_env().SHOW_DEV_OUTBOX)"],
        env={**env, **variables}, capture_output=True, text=True, cwd=infra.ROOT, check=True)
    assert result.stdout.strip() == str(shown)


@pytest.fixture
def embedded_outbox(app, tmp_path):
    saved = app.config["SHOW_DEV_OUTBOX"], app.config["MAIL_FILE_PATH"]
    app.config.update(SHOW_DEV_OUTBOX=True, MAIL_FILE_PATH=str(tmp_path))
    (tmp_path / "0001.log").write_text("To: supporter@example.net\n\nReset: /password/reset/SECRET-LINK\n")
    yield
    app.config["SHOW_DEV_OUTBOX"], app.config["MAIL_FILE_PATH"] = saved


def test_in_the_embedded_setup_only_site_administrators_read_the_outbox(embedded_outbox, client, make):
    anonymous = client.get("/dev/outbox")
    assert anonymous.status_code == 302 and "/login" in anonymous.location

    organizer, _ = make.organizer()
    login(client, organizer)
    refused = client.get("/dev/outbox")
    assert refused.status_code == 403 and b"SECRET-LINK" not in refused.data
    assert b"Development mail outbox" not in client.get("/").data

    admins.set_site_admin(organizer.email)
    shown = client.get("/dev/outbox")
    assert shown.status_code == 200 and b"SECRET-LINK" in shown.data
    assert b"Development mail outbox" in client.get("/").data


def test_the_cli_makes_and_unmakes_a_site_administrator(app, make):
    user, _ = make.organizer()
    runner = app.test_cli_runner()
    made = runner.invoke(args=["organizers", "site-admin", user.email])
    assert made.exit_code == 0 and "now a site administrator" in made.output
    assert admins.require_site_admin(user.id).id == user.id
    runner.invoke(args=["organizers", "site-admin", user.email, "--revoke"])
    with pytest.raises(Exception, match="administrators"):
        admins.require_site_admin(user.id)
    assert runner.invoke(args=["organizers", "site-admin", "nobody@example.org"]).exit_code != 0
