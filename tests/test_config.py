import pytest

import config


@pytest.mark.parametrize("given, expected", [
    ("postgres://u@h:5432/db", "postgresql+psycopg://u@h:5432/db"),
    ("postgresql://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
    ("postgresql+psycopg2://u@h/db", "postgresql+psycopg://u@h/db"),
    ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
])
def test_database_url_forms_choose_our_driver(given, expected):
    assert config.database_url(given) == expected


def test_embedded_default_is_sqlite_and_embedded_broker():
    assert config.database_url(None).startswith("sqlite:///")
    assert config.celery_settings(None)["broker_url"].startswith("sqla+sqlite:///")
    assert config.celery_settings("redis://127.0.0.1:6379/0")["broker_url"] == "redis://127.0.0.1:6379/0"


def test_production_refuses_to_start_without_real_secrets(monkeypatch):
    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY, DATABASE_URL, REDIS_URL"):
        config.ProductionConfig.validate()
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("SECRET_KEY", config.DEV_SECRET_KEY)
    with pytest.raises(RuntimeError, match="random value"):
        config.ProductionConfig.validate()
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    config.ProductionConfig.validate()


def test_unknown_environment_name_is_refused(monkeypatch):
    monkeypatch.setenv("MOBILIZE_ENV", "staging")
    with pytest.raises(RuntimeError, match="MOBILIZE_ENV"):
        config.config_from_env()
