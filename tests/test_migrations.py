"""The models and the migrations must describe the same schema."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from mobilize.extensions import db
from tests.conftest import ADMIN_PG_URL


def test_models_and_migrations_agree(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        diff = compare_metadata(context, db.metadata)
    ignorable = {"kombu_message", "kombu_queue"}
    diff = [d for d in diff if not (d[0] == "remove_table" and d[1].name in ignorable)]
    assert diff == [], f"models and migrations differ; run `flask db migrate`:\n{diff}"


def test_migrations_downgrade_to_base_and_upgrade_again(app, tmp_path, redis_server):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect

    import config
    from mobilize import create_app

    scratch = create_app(config.TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'm.db'}",
                         CELERY=config.celery_settings(redis_server.url))
    try:
        with scratch.app_context():
            upgrade()
            downgrade(revision="base")
            assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
            upgrade()
            assert "signatures" in inspect(db.engine).get_table_names()
            db.engine.dispose()
    finally:
        app.extensions["celery"].set_current()  # tasks called in-process run in the test app again
        app.extensions["celery"].set_default()


def test_reminder_keys_gain_their_start_time_on_upgrade_and_lose_it_on_downgrade(app, tmp_path, redis_server, make,
                                                                                   database_url):
    """Mail already sent keeps counting as sent for the same start: 0085 rewrites the old keys in place."""
    from datetime import timedelta

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import select

    import config
    from mobilize import create_app
    from mobilize.core.models import OutboundMail
    from mobilize.reminders import services as reminders
    from mobilize.rsvps import services as rsvps
    from tests.support import infra

    postgres = database_url.startswith("postgresql")
    url = infra.create_postgres_database(ADMIN_PG_URL) if postgres else f"sqlite:///{tmp_path / 'keys.db'}"
    scratch = create_app(config.TestingConfig, SQLALCHEMY_DATABASE_URI=config.database_url(url),
                         CELERY=config.celery_settings(redis_server.url), REDIS_URL=redis_server.url)
    try:
        with scratch.app_context():
            upgrade()
            _, org = make.organizer()
            event = make.event(org)
            slot = event.timeslots[0]
            attendance = rsvps.rsvp(event.id, email="kim@example.net", given_name="Kim",
                                    timeslot_ids=[str(slot.uuid)], notify=False)
            place_id, start = attendance.places[0].id, slot.start_at
            attendance.places[0].confirmed_at -= timedelta(days=3)
            db.session.commit()
            assert reminders.send_due_reminders(now=start - timedelta(hours=23)) == 1
            db.session.remove()

            downgrade(revision="0080")
            assert db.session.scalars(select(OutboundMail.dedupe_key)).all() == [f"reminder:{place_id}:1440"]
            db.session.remove()
            upgrade()
            assert db.session.scalars(select(OutboundMail.dedupe_key)).all() == [
                reminders.reminder_key(place_id, 1440, start)]
            assert reminders.send_due_reminders(now=start - timedelta(hours=22)) == 0
            db.session.remove()
            db.engine.dispose()
    finally:
        if postgres:
            infra.drop_postgres_database(ADMIN_PG_URL, url)
        app.extensions["celery"].set_current()
        app.extensions["celery"].set_default()
