"""Celery beat's schedule: every periodic sweeper, in one place."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "requeue-stale-mail": {"task": "mobilize.core.tasks.requeue_stale_mail", "schedule": 30.0},
    "purge-embedded-broker": {
        "task": "mobilize.core.tasks.purge_embedded_broker",
        "schedule": crontab(minute="*/15"),
    },
}
