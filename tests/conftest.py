"""Fixtures: a fresh database per run (PostgreSQL by default, TEST_DATABASE=sqlite
for SQLite), cleaned after every test; a private Redis; a real SMTP server;
and, on request, real gunicorn, Celery and Chromium processes.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import inspect, text

import config
from mobilize import create_app
from mobilize.extensions import db as _db
from tests.support import infra
from tests.support.factories import Factories

ADMIN_PG_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET = "test-secret-key-that-is-long-enough-for-anything-0123456789"


@pytest.fixture(scope="session")
def redis_server():
    server = infra.RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def smtp_server():
    sink = infra.SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if os.environ.get("TEST_DATABASE", "postgresql") == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    url = infra.create_postgres_database(ADMIN_PG_URL)
    yield config.database_url(url)
    infra.drop_postgres_database(ADMIN_PG_URL, url)


@pytest.fixture(scope="session")
def instance_dir():
    path = Path(tempfile.mkdtemp(prefix="mobilize-instance-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def process_env(database_url, redis_server, smtp_server, instance_dir) -> dict:
    """The environment for gunicorn and Celery child processes: the same stack as the tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "FLASK_"))}
    env.update(
        MOBILIZE_ENV="testing",
        DATABASE_URL=database_url,
        REDIS_URL=redis_server.url,
        SECRET_KEY=SECRET,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(smtp_server.port),
        MAIL_DEFAULT_SENDER="Mobilize Test <noreply@mobilize.test>",
        # Where live_server will listen: its pages and the workers' mail link to the same site, as in production.
        PUBLIC_URL=f"http://127.0.0.1:{infra.free_port()}",
        MOBILIZE_INSTANCE_DIR=str(instance_dir),
        DELIVERY_ALLOW_LOCAL_WEBHOOKS="1",  # the delivery tests' receiver listens on 127.0.0.1
    )
    return env


@pytest.fixture(scope="session")
def app(process_env, database_url, redis_server, smtp_server):
    app = create_app(
        config.TestingConfig,
        SECRET_KEY=SECRET,
        SQLALCHEMY_DATABASE_URI=database_url,
        REDIS_URL=redis_server.url,
        CELERY=config.celery_settings(redis_server.url),
        RATELIMIT_STORAGE_URI=redis_server.url,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_server.port,
        MAIL_BACKEND="smtp",
        MAIL_DEFAULT_SENDER="Mobilize Test <noreply@mobilize.test>",
        PUBLIC_URL="http://mobilize.test",
        SERVER_NAME=None,
        DELIVERY_ALLOW_LOCAL_WEBHOOKS=True,  # the delivery tests' receiver listens on 127.0.0.1
    )
    with app.app_context():
        upgrade()
    return app


def _reset(app, redis_server) -> None:
    _db.session.remove()
    existing = set(inspect(_db.engine).get_table_names())
    tables = [t.name for t in reversed(_db.metadata.sorted_tables) if t.name in existing]
    with _db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
    import redis

    redis.Redis.from_url(redis_server.url).flushdb()


@pytest.fixture(autouse=True)
def _app_context(request, app, redis_server, smtp_server):
    """Every test runs in an app context and starts from empty tables, Redis and mailbox."""
    smtp_server.clear()
    with app.app_context():
        yield
        _reset(app, redis_server)


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make(app):
    return Factories()


@pytest.fixture
def send_queued_mail(app):
    """Send the outbox through the real mail code (the worker's own function), in-process."""
    from sqlalchemy import select

    from mobilize.core.mail import send_outbound
    from mobilize.core.models import OutboundMail

    def run() -> int:
        ids = _db.session.scalars(select(OutboundMail.id).where(OutboundMail.status == "queued")).all()
        return sum(1 for mail_id in ids if send_outbound(mail_id))

    return run


@pytest.fixture(scope="session")
def live_server(process_env):
    """A real gunicorn serving the app; yields its base URL."""
    server, base = infra.start_gunicorn(process_env, port=int(process_env["PUBLIC_URL"].rpartition(":")[2]))
    yield base
    server.stop()


@pytest.fixture(scope="module")
def celery_worker(process_env):
    """A real Celery worker process consuming from the test Redis, for one test module.

    Module-scoped so that tests elsewhere, which send the outbox in-process,
    never race a worker left running by an earlier module.
    """
    worker = infra.start_celery_worker(process_env)
    yield worker
    worker.stop()


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    yield page
    artifacts = Path(os.environ.get("TEST_ARTIFACTS", "test-artifacts"))
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / f"{request.node.name}.png"), full_page=True)
    context.close()
