"""The models and the migrations must describe the same schema."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from mobilize.extensions import db


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
