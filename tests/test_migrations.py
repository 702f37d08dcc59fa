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
