"""Reminder and notice sweepers run by Celery beat (see mobilize/schedule.py): thin, idempotent, safe to overlap."""

from celery import shared_task

from mobilize.reminders import services


@shared_task
def send_due_reminders() -> int:
    return services.send_due_reminders()


@shared_task
def send_due_notices() -> int:
    return services.send_due_notices()


@shared_task
def send_followups() -> int:
    return services.send_followups()
