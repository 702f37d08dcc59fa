"""SQL that differs between PostgreSQL and SQLite."""

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from mobilize.extensions import db


def upsert(table):
    """An INSERT that takes ON CONFLICT clauses, in the dialect of the database in use."""
    return (pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert)(table)
