"""mobilize: events and petitions that turn supporters into action."""

import logging
from importlib import import_module, util

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import config as config_module
from mobilize.core import sqlite  # noqa: F401 - registers the SQLite pragmas
from mobilize.core.celery import celery_init_app
from mobilize.core.errors import register_error_handlers
from mobilize.core.pool import ping_when_idle
from mobilize.core.security import register_security_headers
from mobilize.core.sessions import CookieSessionInterface
from mobilize.core.text import counted
from mobilize.core.urls import external_url
from mobilize.extensions import csrf, db, limiter, login_manager, mail, migrate

# Feature packages, each with optional models, views (a blueprint `bp`), tasks and cli.
FEATURES = ("core", "main", "accounts", "people", "events", "rsvps", "feeds", "petitions", "announcements", "delivery",
            "reminders", "api", "demo")


def create_app(config: type | None = None, **overrides) -> Flask:
    app = Flask(__name__, instance_path=str(config_module.INSTANCE_DIR))
    app.session_interface = CookieSessionInterface()
    config = config or config_module.config_from_env()
    config.validate()
    app.config.from_object(config)
    app.config.update(overrides)
    app.config["CELERY"] = dict(app.config["CELERY"])
    config_module.INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    db.init_app(app)
    with app.app_context():
        ping_when_idle(db.engine, app.config["DATABASE_PING_AFTER_IDLE"])
    migrate.init_app(app, db, directory=str(config_module.BASE_DIR / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    mail.init_app(app)
    celery_init_app(app)

    for feature in FEATURES:
        for part in ("models", "views", "tasks", "cli"):
            name = f"mobilize.{feature}.{part}"
            if util.find_spec(name) is None:
                continue
            module = import_module(name)
            if part == "views":
                app.register_blueprint(module.bp)
            elif part == "cli":
                app.cli.add_command(module.cli)

    if proxies := app.config["TRUSTED_PROXIES"]:
        # The client's address and scheme as the outermost trusted proxy saw them; the host stays PUBLIC_URL's.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    app.jinja_env.globals["external_url"] = external_url
    app.jinja_env.filters["counted"] = counted
    register_error_handlers(app)
    register_security_headers(app)
    return app
