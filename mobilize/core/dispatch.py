"""Queue Celery tasks only once the database transaction has committed.

A task queued before the commit can run before its rows exist; a broker
that is down must not lose what the supporter submitted, so failures to
queue are logged and left to the sweepers, which find work by its rows.
"""

import logging

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
PENDING = "mobilize.after_commit"


def after_commit(session: Session, task, *args, **kwargs) -> None:
    session.info.setdefault(PENDING, []).append((task, args, kwargs))


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    if session.in_nested_transaction():  # a SAVEPOINT released: the outer transaction is still open
        return
    pending = session.info.pop(PENDING, [])
    for task, args, kwargs in pending:
        try:
            task.apply_async(args=args, kwargs=kwargs)
        except Exception:  # noqa: BLE001 - the sweeper re-queues from the rows
            log.warning("could not queue %s%r; a sweeper will pick it up", task.name, args, exc_info=True)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    if session.in_nested_transaction():  # a SAVEPOINT rolled back: what came before it stands
        return
    session.info.pop(PENDING, None)
