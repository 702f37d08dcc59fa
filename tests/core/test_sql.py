"""Dialect-specific SQL helpers, on the database the suite runs against."""

import pytest
from sqlalchemy import select, text, update

from mobilize.core.sql import WriteAfterCommit, commit_with, plan_for_these_values
from mobilize.events.models import Tag
from mobilize.extensions import db

INSERT_TAG = "INSERT INTO tags (name, created_at, modified_at) VALUES (%(name)s, now(), now()) RETURNING name"


@pytest.fixture
def postgresql(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")


def tag_names() -> set[str]:
    return set(db.session.scalars(select(Tag.name)))


def test_a_sweep_plans_for_its_values_for_its_own_transaction_only(postgresql):
    plan_for_these_values()
    assert db.session.execute(text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"
    db.session.commit()
    assert db.session.execute(text("SHOW plan_cache_mode")).scalar() == "auto"
    db.session.rollback()


def test_a_write_after_commit_with_is_refused_and_the_next_unit_of_work_writes(postgresql):
    db.session.add(Tag(name="before"))
    assert commit_with(INSERT_TAG, {"name": "last"}) == {"name": "last"}
    db.session.add(Tag(name="after"))
    with pytest.raises(WriteAfterCommit):
        db.session.flush()
    db.session.rollback()
    db.session.add(Tag(name="next"))
    db.session.commit()
    assert tag_names() == {"before", "last", "next"}


def test_a_statement_that_writes_after_commit_with_is_refused(postgresql):
    commit_with(INSERT_TAG, {"name": "last"})
    with pytest.raises(WriteAfterCommit):
        db.session.execute(update(Tag).values(name="renamed"))
    db.session.rollback()
    assert tag_names() == {"last"}


def test_the_session_s_own_commit_after_commit_with_sends_nothing_and_ends_the_refusal(postgresql):
    commit_with(INSERT_TAG, {"name": "last"})
    db.session.commit()
    db.session.execute(update(Tag).values(name="renamed"))
    db.session.commit()
    assert tag_names() == {"renamed"}


def test_commit_with_that_breaks_a_constraint_commits_nothing_and_the_transaction_goes_on(postgresql):
    db.session.add(Tag(name="taken"))
    db.session.commit()
    db.session.add(Tag(name="pending"))
    assert commit_with(INSERT_TAG, {"name": "taken"}) is None
    db.session.add(Tag(name="after"))
    db.session.commit()
    assert tag_names() == {"taken", "pending", "after"}
