"""SQL that differs between PostgreSQL and SQLite."""

from functools import cache

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from mobilize.extensions import db


def upsert(table):
    """An INSERT that takes ON CONFLICT clauses, in the dialect of the database in use."""
    return (pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert)(table)


def insert_or_nothing(model, conflict: tuple[str, ...], returning: tuple[str, ...] = ("id",)):
    """INSERT ... ON CONFLICT (conflict) DO NOTHING RETURNING (returning), on the model's table.

    Built once per process and executed with a dict of values on the session's
    connection (``db.session.connection().execute``): it skips the ORM's work on
    every row, a third of a signature's cost on the hot paths. Column defaults
    (timestamps, uuids) still apply; nothing enters the session.
    """
    return _insert_or_nothing(db.engine.dialect.name, model.__table__, conflict, returning)


@cache
def _insert_or_nothing(dialect: str, table, conflict: tuple[str, ...], returning: tuple[str, ...]):
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return (insert(table).on_conflict_do_nothing(index_elements=list(conflict))
            .returning(*(table.c[name] for name in returning)))
