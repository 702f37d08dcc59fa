"""SQL that differs between PostgreSQL and SQLite."""

from functools import cache

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import make_transient_to_detached

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


def insert_loaded(model, conflict: tuple[str, ...], values: dict):
    """Insert one row unless it conflicts; the new row as an ORM object in the session, or None.

    The object is built from the RETURNING row and entered in the session as if
    a query had loaded it: the ORM's own INSERT ... RETURNING of an entity does
    the same in as many statements at several times the cost, on the RSVP path.
    """
    columns = tuple(column.key for column in model.__table__.columns)
    row = db.session.connection().execute(insert_or_nothing(model, conflict, columns), values).first()
    if row is None:
        return None
    obj = model(**row._asdict())
    make_transient_to_detached(obj)
    db.session.add(obj)
    return obj


def plan_for_these_values() -> None:
    """Have PostgreSQL plan this transaction's statements for the values they are run with.

    psycopg prepares a statement on the server after five runs, and PostgreSQL
    may then run it with one generic plan for the connection's life, chosen while
    a table was small. A sweep that checks a growing table (the outbox) is
    where that hurts: planned when the outbox was empty, the reminder sweep took
    seconds a page once it held 80,000 rows. Web requests keep their cached plans.
    """
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
