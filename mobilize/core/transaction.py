"""One unit of work: every service writes inside it, and nothing writes after it."""

from contextlib import contextmanager

from mobilize.extensions import db


@contextmanager
def unit_of_work():
    """Commit what the block wrote, or roll all of it back when it raises.

    What the block loaded stays loaded: it is what was just committed, and the
    page or API answer that follows would otherwise read it all again.
    """
    session = db.session()
    try:
        yield session
        session.expire_on_commit = False
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.expire_on_commit = True
