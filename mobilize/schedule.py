"""Celery beat's schedule: every periodic sweeper, in one place."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # Every MAIL_REQUEUE_AFTER / 2 seconds (celery_init_app sets it from the config).
    "requeue-stale-mail": {"task": "mobilize.core.tasks.requeue_stale_mail", "schedule": 30.0},
    "purge-embedded-broker": {
        "task": "mobilize.core.tasks.purge_embedded_broker",
        "schedule": crontab(minute="*/15"),
    },
    # Petitions: counts lag confirmations by a few seconds; a fold that missed its slot is dropped, not queued.
    "count-signatures": {
        "task": "mobilize.petitions.tasks.count_signatures", "schedule": 3.0, "options": {"expires": 3},
    },
    "reconcile-signature-counts": {
        "task": "mobilize.petitions.tasks.reconcile_signature_counts", "schedule": crontab(minute="*/10"),
    },
    "close-due-petitions": {"task": "mobilize.petitions.tasks.close_due_petitions", "schedule": 60.0},
    "expire-unconfirmed-signatures": {
        "task": "mobilize.petitions.tasks.expire_unconfirmed_signatures", "schedule": crontab(minute=17),
    },
    # Petition news keeps the task name it had under reminders (see petitions.tasks.send_petition_news).
    "send-petition-news": {
        "task": "mobilize.reminders.tasks.send_petition_news", "schedule": 60.0, "options": {"expires": 60},
    },
    # Announcements: due sends start within one interval; a stalled send is resumed from its cursor.
    "send-due-announcements": {
        "task": "mobilize.announcements.tasks.send_due_announcements", "schedule": 15.0, "options": {"expires": 15},
    },
    # Signature delivery: cadences fire within one interval; batches a worker lost are sent again.
    "sweep-deliveries": {
        "task": "mobilize.delivery.tasks.sweep_deliveries", "schedule": 30.0, "options": {"expires": 30},
    },
    # Reminders and notices: due mail is queued within one interval; the outbox's dedupe keys keep it to once.
    "send-due-reminders": {
        "task": "mobilize.reminders.tasks.send_due_reminders", "schedule": 60.0, "options": {"expires": 60},
    },
    "send-due-notices": {
        "task": "mobilize.reminders.tasks.send_due_notices", "schedule": 60.0, "options": {"expires": 60},
    },
    "send-followups": {
        "task": "mobilize.reminders.tasks.send_followups", "schedule": crontab(minute="*/5"),
    },
}
