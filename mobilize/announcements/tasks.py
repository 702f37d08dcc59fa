"""Announcement sending: a beat sweeper starts due sends, each batch queues the next."""

import logging

from celery import shared_task

from mobilize.announcements import services

log = logging.getLogger(__name__)


@shared_task
def send_due_announcements() -> int:
    """Start every announcement whose time has come, and resume any whose batches stopped."""
    started = services.start_due_announcements()
    if started:
        log.info("started or resumed %d announcement sends", started)
    return started


@shared_task
def send_announcement_batch(announcement_id: int, cursor: int) -> bool:
    return services.send_batch(announcement_id, cursor)
