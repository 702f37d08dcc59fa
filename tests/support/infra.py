"""Real processes for the tests: a private Redis, an SMTP sink, gunicorn, Celery."""

import email
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from email.message import Message
from pathlib import Path

import psycopg
import requests
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


class RedisServer:
    """A redis-server of the test session's own, on its own port."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="mobilize-redis-")
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, what=f"redis on {self.port}")
        return self

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


class SmtpSink:
    """A real SMTP server (aiosmtpd) that keeps what it receives."""

    def __init__(self):
        self.port = free_port()
        self.messages: list[Message] = []
        self.refuse = False
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.refuse:
            return "451 Try again later"
        message = email.message_from_bytes(envelope.content)
        message["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        with self._lock:
            self.messages.append(message)
        return "250 OK"

    def start(self) -> "SmtpSink":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
        self.refuse = False

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if address.lower() in m["X-Envelope-To"].lower()]

    def wait_for(self, count: int = 1, to: str | None = None, timeout: float = 30.0) -> list[Message]:
        def enough():
            found = self.to(to) if to else list(self.messages)
            return found if len(found) >= count else None

        return wait_until(enough, timeout=timeout, what=f"{count} message(s)" + (f" to {to}" if to else ""))


def body_text(message: Message) -> str:
    """The plain-text part of a message, decoded."""
    for part in message.walk():
        if part.get_content_type() == "text/plain" and not part.get_filename():
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no text/plain part")


def create_postgres_database(admin_url: str) -> str:
    name = f"mobilize_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


def drop_postgres_database(admin_url: str, url: str) -> None:
    name = url.rpartition("/")[2]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


class Process:
    """A child process with its output in a log file, stopped at the end."""

    def __init__(self, args: list[str], env: dict, name: str):
        self.log_path = Path(tempfile.mkstemp(prefix=f"mobilize-{name}-", suffix=".log")[1])
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.name = name

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self, sig: int = 9) -> None:
        if self.alive():
            os.killpg(self.process.pid, sig)
            self.process.wait(30)

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(10)
        self.log.close()


def start_gunicorn(env: dict, workers: int = 2, threads: int = 4, port: int | None = None) -> tuple[Process, str]:
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    server = Process(
        [str(VENV_BIN / "gunicorn"), "-b", f"127.0.0.1:{port}", "-w", str(workers), "-k", "gthread",
         "--threads", str(threads), "--timeout", "60", "--no-control-socket", "wsgi:app"],
        {**env, "PUBLIC_URL": base}, "gunicorn",
    )

    def healthy():
        if not server.alive():
            raise RuntimeError("gunicorn exited:\n" + server.output()[-3000:])
        try:
            return requests.get(base + "/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    wait_until(healthy, timeout=60, what="gunicorn")
    return server, base


def start_celery_worker(env: dict, concurrency: int = 2, extra: tuple[str, ...] = ()) -> Process:
    worker = Process(
        [str(VENV_BIN / "celery"), "-A", "worker", "worker", "-c", str(concurrency), "-P", "prefork",
         "--loglevel", "INFO", "-n", f"test-{uuid.uuid4().hex[:6]}@%h", *extra],
        env, "celery",
    )

    def ready():
        if not worker.alive():
            raise RuntimeError("celery worker exited:\n" + worker.output()[-3000:])
        return " ready." in worker.output()

    wait_until(ready, timeout=60, what="celery worker")
    return worker


NGINX_CONF = """
daemon off;
{user}
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass {upstream};
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }}
  }}
}}
"""


def start_nginx(upstream: str) -> tuple[Process, str]:
    """nginx as the reverse proxy in front of ``upstream``, configured as the README's production shape has it."""
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="mobilize-nginx-"))
    user = "user root;" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(NGINX_CONF.format(user=user, dir=folder, port=port, upstream=upstream))
    server = Process(["nginx", "-p", str(folder), "-c", str(folder / "nginx.conf")], dict(os.environ), "nginx")

    def listening():
        if not server.alive():
            raise RuntimeError("nginx exited:\n" + server.output()[-3000:])
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            return False

    wait_until(listening, what="nginx")
    return server, f"http://127.0.0.1:{port}"
