"""SQL that differs between PostgreSQL and SQLite."""

from datetime import UTC, datetime
from functools import cache

import psycopg
from psycopg.rows import dict_row
from sqlalchemy import BigInteger, event, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.sql.functions import FunctionElement

from mobilize.extensions import db


class epoch_seconds(FunctionElement):
    """Whole seconds since 1970 of a UTCDateTime column, equal to ``int(value.timestamp())`` in Python."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element, compiler, **kw):
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


def upsert(table):
    """An INSERT that takes ON CONFLICT clauses, in the dialect of the database in use."""
    return (pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert)(table)


def insert_or_nothing(model, conflict: tuple[str, ...], returning: tuple[str, ...] = ("id",)):
    """INSERT ... ON CONFLICT (conflict) DO NOTHING RETURNING (returning), on the model's table.

    Built once per process and executed with a dict of values on the session's
    connection (``db.session.connection().execute``): it skips the ORM's work on
    every row, which the hot paths (signing, RSVPs) cannot afford. Column
    defaults (timestamps, uuids) still apply; nothing enters the session.
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
    the same in as many statements, with far more Python, on the RSVP path.
    """
    columns = tuple(column.key for column in model.__table__.columns)
    row = db.session.connection().execute(insert_or_nothing(model, conflict, columns), values).first()
    return None if row is None else as_loaded(model, row._asdict())


def as_loaded(model, row: dict):
    """An ORM object for a row just written by a Core or raw statement, entered in the session as if a query
    had loaded it."""
    obj = model(**{name: value.astimezone(UTC) if isinstance(value, datetime) else value
                   for name, value in row.items()})
    make_transient_to_detached(obj)
    db.session.add(obj)
    return obj


def plan_for_these_values() -> None:
    """Have PostgreSQL plan this transaction's statements for the values they are run with.

    psycopg prepares a statement on the server after five runs, and PostgreSQL
    may then run it with one generic plan for the connection's life, chosen while
    a table was small. A sweep that checks a growing table (the outbox) is
    where that hurts: a plan made while the outbox was empty stays in use once
    it is large. Web requests keep their cached plans.
    """
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


COMMITTED_EARLY = "mobilize.committed_early"


class WriteAfterCommit(RuntimeError):
    """A write on a session whose transaction ``commit_with`` has committed already."""


def commit_with(sql: str, params: dict) -> dict | None:
    """Run the transaction's last statement and its COMMIT in one round trip (PostgreSQL only); the
    statement's row as a dict, or None when it broke a constraint: then nothing is committed and the transaction
    goes on from before the statement.

    A statement that locks a hot row (the last seats of a timeslot) holds that lock
    until COMMIT: sent together in psycopg's pipeline mode, the lock lasts the
    server's own work, not a round trip and the Python between. The session is
    flushed first; after a commit it refuses to write (``WriteAfterCommit``) until
    its own transaction ends: its commit then finds nothing to send, and runs its
    after-commit hooks as usual.
    """
    session = db.session()
    session.flush()
    connection = session.connection().connection.driver_connection
    try:
        with connection.pipeline():
            connection.execute("SAVEPOINT last_statement")
            cursor = connection.cursor(row_factory=dict_row)
            cursor.execute(sql, params)
            connection.execute("COMMIT")
    except psycopg.errors.IntegrityError:
        connection.execute("ROLLBACK TO SAVEPOINT last_statement")
        return None
    session.info[COMMITTED_EARLY] = True
    return cursor.fetchone()


def _refuse_write_after_commit(session: Session) -> None:
    if session.info.get(COMMITTED_EARLY):
        raise WriteAfterCommit("This transaction was committed by commit_with; nothing may write after it. "
                               "Write before it, or in the next unit of work.")


@event.listens_for(Session, "before_flush")
def _refuse_flush_after_commit(session: Session, flush_context, instances) -> None:
    _refuse_write_after_commit(session)


@event.listens_for(Session, "do_orm_execute")
def _refuse_statement_after_commit(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        _refuse_write_after_commit(state.session)


@event.listens_for(Session, "after_transaction_end")
def _end_early_commit(session: Session, transaction) -> None:
    if transaction.parent is None:  # the session's own transaction, not a SAVEPOINT within it
        session.info.pop(COMMITTED_EARLY, None)
