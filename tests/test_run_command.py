"""README command 1, run for real: no Redis, no PostgreSQL; the worker writes mail to the outbox."""

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests

from tests.support.infra import ROOT, free_port, wait_until
from tests.support.web import csrf_token_from


@pytest.mark.slow
def test_run_command_serves_demo_data_and_the_worker_writes_queued_mail():
    instance = Path(tempfile.mkdtemp(prefix="mobilize-run-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "MAIL_SERVER", "MOBILIZE_ENV") and not k.startswith("FLASK")}
    env.update(MOBILIZE_INSTANCE_DIR=str(instance), MOBILIZE_PORT=str(port), PUBLIC_URL=f"http://127.0.0.1:{port}")
    log = (instance / "run.log").open("w")
    proc = subprocess.Popen([str(ROOT / "scripts" / "run")], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        def up():
            assert proc.poll() is None, (instance / "run.log").read_text()[-3000:]
            try:
                return requests.get(base + "/", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_until(up, timeout=180, what="the run command's web server")
        output = (instance / "run.log").read_text()
        assert f"mobilize is starting at {base}" in output
        home = requests.get(base + "/", timeout=5).text
        assert "Work that fits life" in home

        # A password reset for a demo organizer queues a mail; the real worker, over
        # the embedded broker, writes it to the outbox.
        session = requests.Session()
        page = session.get(base + "/password/forgot", timeout=5)
        session.post(base + "/password/forgot", timeout=5, data={
            "csrf_token": csrf_token_from(page.text), "email": "maya@flexmovement.org"})
        outbox = instance / "outbox"

        def reset_mail():
            files = outbox.glob("*.log") if outbox.exists() else []
            return [f for f in files if "To: maya@flexmovement.org" in f.read_text(errors="replace")]

        wait_until(reset_mail, timeout=60, what="the reset mail written by the worker")
        assert "Log in" in requests.get(base + "/dev/outbox", timeout=5).text  # not for strangers
        admin = requests.Session()  # the demo's site administrator reads it
        page = admin.get(base + "/login", timeout=5)
        admin.post(base + "/login", timeout=5, data={"csrf_token": csrf_token_from(page.text),
                                                     "email": "maya@flexmovement.org", "password": "organize-for-flex"})
        assert re.search(r"Reset your .* password", admin.get(base + "/dev/outbox", timeout=5).text)
        assert "site administrators read it" in output
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(30)
        log.close()
        shutil.rmtree(instance, ignore_errors=True)
