"""A pooled connection that died while idle is replaced, not handed to a request."""

import pytest
from sqlalchemy import create_engine, exc, text

from mobilize.core.pool import ping_when_idle


def _engine_whose_connection_died(database_url: str, idle_seconds: float):
    """An engine whose one pooled connection the server has since terminated (as a restart would)."""
    engine = create_engine(database_url, pool_size=1)
    ping_when_idle(engine, idle_seconds)
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    with create_engine(database_url).connect() as admin:
        assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    return engine


@pytest.fixture
def postgres_url(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("terminating a server connection needs PostgreSQL")
    return database_url


def test_a_connection_idle_past_the_threshold_is_pinged_and_replaced(postgres_url):
    engine = _engine_whose_connection_died(postgres_url, idle_seconds=0)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()


def test_a_connection_used_a_moment_ago_is_not_pinged(postgres_url):
    """The other side of the trade: no round trip for a connection just handed back (the next error
    invalidates the pool instead)."""
    engine = _engine_whose_connection_died(postgres_url, idle_seconds=3600)
    with pytest.raises(exc.OperationalError), engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    with engine.connect() as conn:  # the error threw the dead connection away
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()

