"""Pooled database connections checked for life only after they sat idle.

SQLAlchemy's ``pool_pre_ping`` pings on every checkout: a round trip on every
request, which a surge of signatures feels (bench/README.md). A connection handed back a
moment ago is alive; one idle for a while (across a database restart, a
firewall's timeout) is pinged first and replaced if dead. A restart during
traffic is still caught: the first error on a dead connection invalidates
the whole pool.
"""

import time

from sqlalchemy import event, exc

IDLE_KEY = "mobilize.idle_since"


def ping_when_idle(engine, idle_seconds: float) -> None:
    @event.listens_for(engine, "checkin")
    def _idle(dbapi_connection, record):
        record.info[IDLE_KEY] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, proxy):
        since = record.info.pop(IDLE_KEY, None)
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # noqa: BLE001 - any failure means a connection not worth keeping
            raise exc.DisconnectionError(str(error)) from error  # the pool replaces it and checks out again
