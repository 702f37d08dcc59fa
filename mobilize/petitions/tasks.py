"""Petition sweepers run by Celery beat (see mobilize/schedule.py): thin, idempotent, safe to overlap."""

import logging

from celery import shared_task

from mobilize.petitions import counting, news, signing

log = logging.getLogger(__name__)


@shared_task
def count_signatures() -> int:
    """Fold the confirmations and invalidations of the last seconds into the shown counts, then raise goals."""
    changed = counting.fold_counts()
    if changed:
        for petition_id, goal in counting.raise_goals(changed):
            log.info("petition %s reached its goal of %d signatures", petition_id, goal)
    return len(changed)


@shared_task
def reconcile_signature_counts() -> int:
    corrected = counting.reconcile_counts()
    counting.raise_goals()
    return corrected


@shared_task
def close_due_petitions() -> int:
    return counting.close_due_petitions()


@shared_task
def expire_unconfirmed_signatures() -> int:
    expired = signing.expire_unconfirmed()
    if expired:
        log.info("deleted %d signatures never confirmed", expired)
    return expired


# Named as when reminders sent petition news, so messages a beat of the previous release queued still find it.
@shared_task(name="mobilize.reminders.tasks.send_petition_news")
def send_petition_news() -> int:
    """Milestones to organizers, then a batch of each recent update to opted-in signers."""
    return news.send_milestone_mails() + news.send_update_mails()
