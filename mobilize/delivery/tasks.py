"""Delivery tasks: the beat sweeper fans out one cutting task per due recipient and one sending task per batch."""

import logging

from celery import shared_task

from mobilize.delivery import batching, sending

log = logging.getLogger(__name__)


@shared_task
def sweep_deliveries() -> dict:
    """Fire due cadences, start cutting batches for due recipients, re-queue batches a worker lost."""
    result = batching.sweep()
    if result["requeued"]:
        log.info("re-queued %d delivery batch(es) a worker lost", result["requeued"])
    return result


@shared_task
def cut_delivery_batches(cursor_id: int) -> int:
    """Cut a due recipient's waiting signatures into batches; a long backlog continues in a new task."""
    cut, more = batching.cut_batches(cursor_id)
    if more:
        cut_delivery_batches.delay(cursor_id)
    return cut


@shared_task(bind=True, max_retries=None)
def deliver_signature_batch(self, batch_id: int) -> str:
    """Send one batch; a failure is retried with exponential backoff until DELIVERY_MAX_ATTEMPTS."""
    outcome = sending.deliver_batch(batch_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status
