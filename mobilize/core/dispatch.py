"""Queue Celery tasks only once the database transaction has committed.

A task queued before the commit can run before its rows exist; a broker
that is down must not lose what the supporter submitted, so failures to
queue are logged and left to the sweepers, which find work by its rows.
"""

import atexit
import functools
import logging
import os
import threading
import time

from celery.signals import task_postrun
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
PENDING = "mobilize.after_commit"


def after_commit(session: Session, task, *args, **kwargs) -> None:
    """Queue ``task`` (or a signature) with these arguments once the transaction commits."""
    on_commit(session, functools.partial(task.apply_async, args=args, kwargs=kwargs))


def on_commit(session: Session, call) -> None:
    """Call ``call()`` once the transaction commits; never if it rolls back."""
    session.info.setdefault(PENDING, []).append(call)


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    if session.in_nested_transaction():  # a SAVEPOINT released: the outer transaction is still open
        return
    for call in session.info.pop(PENDING, []):
        try:
            call()
        except Exception:  # noqa: BLE001 - the sweeper re-queues from the rows
            log.warning("could not queue %r; a sweeper will pick it up", call, exc_info=True)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    if session.in_nested_transaction():  # a SAVEPOINT rolled back: what came before it stands
        return
    session.info.pop(PENDING, None)


BATCHERS: list["Batcher"] = []


@task_postrun.connect
def _flush_batchers(**_) -> None:
    """A Celery task's mail leaves with the task: its pool process may be recycled before the thread wakes."""
    for batcher in BATCHERS:
        batcher.flush()


class Batcher:
    """Items committed by many requests, handed to a task that takes a list, a batch at a time.

    Publishing a Celery message costs about as much as all of a signature's
    database work. A thread of each process gathers what commits in GATHER
    seconds and publishes it as one message, so a surge of hundreds of mails a
    second costs a few messages. Each Celery task's end flushes its own. What a
    dying process still held, or what a dead broker refused, the task's sweeper
    finds again in the rows.
    """

    GATHER = 0.05

    def __init__(self, task, size: int = 100):
        self.task, self.size = task, size
        self._pending: dict = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pid: int | None = None
        atexit.register(self.flush)
        BATCHERS.append(self)

    def add(self, item) -> None:
        """Queue ``item`` for the next batch; call it once the item's transaction has committed."""
        celery_app = current_app.extensions["celery"]  # the thread publishes through the app that queued
        with self._lock:
            self._pending.setdefault(celery_app, []).append(item)
            if self._pid != os.getpid():  # first use in this process (gunicorn and Celery fork)
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="mobilize-batcher", daemon=True).start()
        self._wake.set()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            self._wake.clear()
        for celery_app, items in pending.items():
            task = celery_app.tasks[self.task.name]
            for start in range(0, len(items), self.size):
                batch = items[start:start + self.size]
                try:
                    task.apply_async(args=(batch,))
                except Exception:  # noqa: BLE001 - the sweeper re-queues from the rows
                    log.warning("could not queue %s for %d items; a sweeper will pick them up", task.name,
                                len(batch), exc_info=True)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(self.GATHER)
            self.flush()
