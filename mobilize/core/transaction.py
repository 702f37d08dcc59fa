"""One unit of work: every service writes inside it, and nothing writes after it."""

from contextlib import contextmanager

from mobilize.extensions import db


@contextmanager
def unit_of_work(*, keep_loaded: bool = False):
    """Commit what the block wrote, or roll all of it back when it raises.

    By default the commit expires what was loaded, as a plain commit does: code that reads an
    attribute afterwards gets it fresh (it may have been changed by a Core UPDATE in the block).
    With ``keep_loaded`` what the block loaded stays loaded: it is what was just committed, and the
    page or API answer that follows would otherwise read it all again (the hot paths want that).
    """
    session = db.session()
    try:
        yield session
        if keep_loaded:
            session.expire_on_commit = False
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        if keep_loaded:
            session.expire_on_commit = True


class Abandon(Exception):  # noqa: N818 - an instruction, not an error
    """Raise inside ``unit_of_work`` to roll its block back on purpose (a race lost, nothing left to do);
    catch it just outside the block, where what that means is decided."""
