"""The organizers' delivery pages: the plan form, the history, retrying a failed batch, and who may see them."""

import re

from sqlalchemy import select

from mobilize.delivery.models import DeliveryPlan
from mobilize.delivery.sending import deliver_batch
from mobilize.extensions import db
from tests.support.session import login
from tests.support.web import csrf_token_from, submit


def plan_url(petition) -> str:
    return f"/orgs/{petition.organization.slug}/petitions/{petition.uuid}/delivery"


def test_an_organizer_sets_up_a_plan_and_sees_the_webhook_secret(client, delivery, receiver):
    petition = delivery.petition()
    login(client, petition.organizer)
    response = submit(client, plan_url(petition), {
        "email_targets": "y", "webhook_url": receiver.url(), "every_n": "100", "daily_at": "09:30",
        "timezone": "Europe/Berlin", "final_local": "2031-05-01T12:00",
    })
    assert response.status_code == 302
    plan = db.session.scalar(select(DeliveryPlan).where(DeliveryPlan.petition_id == petition.id))
    assert plan.email_targets and not plan.include_emails and plan.every_n == 100
    assert plan.timezone == "Europe/Berlin" and plan.daily_at.strftime("%H:%M") == "09:30"
    assert plan.final_at.isoformat() == "2031-05-01T10:00:00+00:00"  # 12:00 CEST
    page = client.get(plan_url(petition)).get_data(as_text=True)
    assert plan.webhook_secret in page and 'value="09:30"' in page and 'value="2031-05-01T12:00"' in page

    old_secret = plan.webhook_secret
    assert submit(client, plan_url(petition), {}, action=plan_url(petition) + "/secret").status_code == 302
    db.session.refresh(plan)
    assert plan.webhook_secret != old_secret


def test_the_plan_form_explains_what_is_wrong_and_saves_nothing(app, monkeypatch, client, delivery):
    petition = delivery.petition()
    login(client, petition.organizer)
    response = submit(client, plan_url(petition), {"email_targets": "y", "timezone": "Mars/Olympus"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Choose when to deliver" in page and "is not an IANA time zone" in page

    monkeypatch.setitem(app.config, "DELIVERY_ALLOW_LOCAL_WEBHOOKS", False)
    response = submit(client, plan_url(petition), {"webhook_url": "http://127.0.0.1:6379/", "every_n": "0",
                                                   "timezone": "UTC"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Use an https:// address" in page and "Choose between 1 and 1,000,000" in page
    response = submit(client, plan_url(petition), {"webhook_url": "https://127.0.0.1/hook", "every_n": "5",
                                                   "timezone": "UTC", "final_local": "2001-01-01T00:00"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "private network" in page and "Choose a time in the future" in page
    assert db.session.scalar(select(DeliveryPlan.webhook_url)) in (None, "")


def test_another_organizations_organizer_gets_403_on_every_delivery_page(client, make, delivery, receiver):
    petition = delivery.petition()
    delivery.webhook_plan(petition, receiver, every_n=1)
    delivery.signatures(petition, 1)
    delivery.sweep()
    [batch] = delivery.batches(petition)
    outsider, own_org = make.organizer()
    login(client, outsider)
    token = csrf_token_from(client.get(f"/orgs/{own_org.slug}/deliveries").get_data(as_text=True))
    base = plan_url(petition)
    assert client.get(base).status_code == 403
    assert client.get(f"/orgs/{petition.organization.slug}/deliveries").status_code == 403
    for action in ("", "/now", "/secret", f"/batches/{batch.uuid}/retry"):
        assert client.post(base + action, data={"csrf_token": token}).status_code == 403, action
    assert receiver.secrets["/hook"] not in client.get(base).get_data(as_text=True)


def test_a_visitor_who_is_not_logged_in_is_sent_to_log_in(client, delivery):
    petition = delivery.petition()
    response = client.get(plan_url(petition))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_failed_batch_is_retried_from_the_history_with_its_idempotency_key(app, monkeypatch, client, delivery,
                                                                            receiver):
    monkeypatch.setitem(app.config, "DELIVERY_MAX_ATTEMPTS", 1)
    receiver.failures["/hook"] = 1
    petition = delivery.petition()
    delivery.webhook_plan(petition, receiver, every_n=1)
    delivery.signatures(petition, 3)
    delivery.sweep()
    [batch] = delivery.batches(petition)
    assert deliver_batch(batch.id).status == "failed"

    login(client, petition.organizer)
    page = client.get(plan_url(petition)).get_data(as_text=True)
    assert "Failed" in page and "HTTP 500" in page and "Retry batch 1" in page
    retry_url = f"{plan_url(petition)}/batches/{batch.uuid}/retry"
    response = submit(client, plan_url(petition), {}, action=retry_url, follow_redirects=True)
    assert "queued to be sent again" in response.get_data(as_text=True)
    db.session.refresh(batch)
    assert batch.status == "pending" and batch.attempts == 0 and batch.manual_retries == 1
    assert submit(client, plan_url(petition), {}, action=retry_url, follow_redirects=True).status_code == 200

    delivery.deliver_all()
    db.session.refresh(batch)
    assert batch.status == "delivered"
    assert [a.status for a in receiver.arrivals] == [500, 200]
    assert {a.key for a in receiver.arrivals} == {batch.idempotency_key}
    page = client.get(plan_url(petition)).get_data(as_text=True)
    assert re.search(r"3 signatures delivered", page) and "Retry batch" not in page


def test_the_organization_list_shows_each_petition_and_how_its_deliveries_stand(client, delivery, receiver):
    petition = delivery.petition()
    delivery.webhook_plan(petition, receiver, every_n=2, email_targets=True)
    delivery.signatures(petition, 4)
    delivery.sweep()
    delivery.deliver_all()
    login(client, petition.organizer)
    page = client.get(f"/orgs/{petition.organization.slug}/deliveries").get_data(as_text=True)
    assert petition.title in page and "Email to targets + Webhook" in page and "every 2 signatures" in page
    assert ">8<" in page.replace(" ", "")  # 4 signatures, to two recipients
    dashboard = client.get("/account").get_data(as_text=True)
    assert f"/orgs/{petition.organization.slug}/deliveries" in dashboard
