"""The embedded broker (Kombu's SQLAlchemy transport over SQLite) is kept small."""

import sqlite3

from kombu import Connection

from mobilize.core.tasks import purge_embedded_broker


def test_purge_deletes_consumed_messages_older_than_an_hour(app, tmp_path):
    broker = f"sqla+sqlite:///{tmp_path / 'broker.db'}"
    with Connection(broker) as conn:
        queue = conn.SimpleQueue("celery")
        for n in range(3):
            queue.put({"n": n})
        for _ in range(2):
            queue.get(timeout=5).ack()
        queue.close()
    with sqlite3.connect(tmp_path / "broker.db") as db:
        db.execute("UPDATE kombu_message SET timestamp = datetime('now', '-2 hours')")
    previous = app.config["CELERY"]["broker_url"]
    app.config["CELERY"]["broker_url"] = broker
    try:
        assert purge_embedded_broker() == 2
    finally:
        app.config["CELERY"]["broker_url"] = previous
    with sqlite3.connect(tmp_path / "broker.db") as db:
        assert db.execute("SELECT count(*) FROM kombu_message").fetchone()[0] == 1


def test_purge_does_nothing_on_redis(app):
    assert app.config["CELERY"]["broker_url"].startswith("redis://")
    assert purge_embedded_broker() == 0
