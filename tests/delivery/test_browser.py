"""An organizer sets up delivery, sees a batch fail, and retries it, in a real Chromium."""

import pytest
from sqlalchemy import select

from mobilize.delivery.models import DeliveryPlan
from mobilize.extensions import db
from tests.support.session import log_in_browser

pytestmark = pytest.mark.browser

SHOTS = "test-artifacts"


def test_organizer_plans_delivery_then_retries_a_failed_batch_from_the_history(app, monkeypatch, page, live_server,
                                                                              delivery, receiver):
    monkeypatch.setitem(app.config, "DELIVERY_MAX_ATTEMPTS", 1)
    petition = delivery.petition(title="Let us work flexible hours")
    delivery.signatures(petition, 3, comment="I could take my kids to school.")
    log_in_browser(page, live_server, petition.organizer.email)

    page.get_by_role("link", name="Deliveries").first.click()
    page.get_by_role("link", name="Set up delivery").click()
    page.get_by_label("Email each target").check()
    page.get_by_label("Webhook address").fill(receiver.url())
    page.get_by_label("Every … signatures").fill("2")
    page.get_by_label("Daily at").fill("09:00")
    page.get_by_label("Time zone").fill("America/Chicago")
    page.screenshot(path=f"{SHOTS}/delivery_plan_form.png", full_page=True)
    page.get_by_role("button", name="Save plan").click()
    page.get_by_text("Delivery plan saved.").wait_for()
    plan = db.session.scalar(select(DeliveryPlan))
    assert page.get_by_role("region", name="Webhook secret").get_by_text(plan.webhook_secret).is_visible()

    receiver.failures["/hook"] = 1  # the receiver is down for the first try
    receiver.secrets["/hook"] = plan.webhook_secret
    delivery.sweep()
    delivery.deliver_all()
    page.reload()
    webhook_row = page.get_by_role("row", name="Webhook")
    assert webhook_row.get_by_text("Failed", exact=True).is_visible()
    assert page.get_by_role("row", name="Jane Doe").get_by_text("Delivered", exact=True).is_visible()
    page.screenshot(path=f"{SHOTS}/delivery_failed_batch.png", full_page=True)

    page.get_by_role("button", name="Retry batch 1").click()
    page.get_by_text("queued to be sent again").wait_for()
    assert page.get_by_role("row", name="Webhook").get_by_text("Waiting", exact=True).is_visible()
    delivery.deliver_all()
    page.reload()
    assert page.get_by_role("row", name="Webhook").get_by_text("Delivered", exact=True).is_visible()
    assert page.get_by_text("3 signatures delivered").count() == 2
    page.screenshot(path=f"{SHOTS}/delivery_history.png", full_page=True)

    page.get_by_role("link", name="Deliveries").first.click()
    assert page.get_by_role("row", name="Let us work flexible hours").get_by_text("6").is_visible()
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=f"{SHOTS}/delivery_list_phone.png", full_page=True)
