"""Dialect-specific SQL helpers, on the database the suite runs against."""

import pytest
from sqlalchemy import text

from mobilize.core.sql import plan_for_these_values
from mobilize.extensions import db


def test_a_sweep_plans_for_its_values_for_its_own_transaction_only(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("plan caching is PostgreSQL's")
    plan_for_these_values()
    assert db.session.execute(text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"
    db.session.commit()
    assert db.session.execute(text("SHOW plan_cache_mode")).scalar() == "auto"
    db.session.rollback()
