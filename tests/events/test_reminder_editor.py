"""Organizers set an event's reminder times in the event editor, typed as "24h, 1h, 30m"."""

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mobilize.events import reminder_offsets as reminders
from mobilize.events import services
from mobilize.events.models import Event
from mobilize.events.reminder_offsets import ReminderOffset
from tests.events.test_views import editor_data
from tests.support.session import log_in_browser, login
from tests.support.web import submit

ARTIFACTS = Path("test-artifacts")


def _created(response):
    assert response.status_code == 302, response.get_data(as_text=True)
    return services.public_event(response.headers["Location"].rsplit("/", 1)[1])


def _edit_data(event) -> dict:
    slot = services.active_timeslots(event)[0]
    return editor_data(
        **{
            "timeslots-0-uuid": str(slot.uuid),
            "timeslots-0-start_date": slot.local_date.isoformat(),
            "timeslots-0-start_time": "18:00",
            "timeslots-0-end_time": "20:00",
            "timezone": "America/New_York",
            "postal_code": "10001",
            "locality": "New York",
            "region": "NY",
        }
    )


def test_a_new_event_offers_the_default_reminders_and_keeps_them_unless_changed(client, make, db):
    user, org = make.organizer()
    login(client, user)
    page = client.get(f"/orgs/{org.slug}/events/new").get_data(as_text=True)
    assert 'name="reminders"' in page and 'value="24h, 1h"' in page

    event = _created(submit(client, f"/orgs/{org.slug}/events/new", editor_data(reminders="24h, 1h")))
    assert reminders.reminder_offsets(event.id) == [1440, 60]
    assert db.session.scalar(select(func.count()).select_from(ReminderOffset)) == 0  # still on the defaults


def test_organizer_creates_an_event_with_its_own_reminder_times(client, make):
    user, org = make.organizer()
    login(client, user)
    event = _created(submit(client, f"/orgs/{org.slug}/events/new", editor_data(reminders="30m, 2d, 1 hour")))
    assert reminders.reminder_offsets(event.id) == [2880, 60, 30]

    form = client.get(f"/orgs/{org.slug}/events/{event.uuid}/edit").get_data(as_text=True)
    assert 'value="2d, 1h, 30m"' in form
    duplicate = client.get(f"/orgs/{org.slug}/events/{event.uuid}/duplicate").get_data(as_text=True)
    assert 'value="2d, 1h, 30m"' in duplicate


def test_organizer_changes_and_turns_off_reminders_of_an_existing_event(client, make, new_event):
    user, org = make.organizer()
    event = new_event(user, org)
    login(client, user)
    edit_url = f"/orgs/{org.slug}/events/{event.uuid}/edit"
    assert 'value="24h, 1h"' in client.get(edit_url).get_data(as_text=True)

    assert submit(client, edit_url, {**_edit_data(event), "reminders": "3h, 15m"}).status_code == 302
    assert reminders.reminder_offsets(event.id) == [180, 15]
    assert 'value="3h, 15m"' in client.get(edit_url).get_data(as_text=True)

    assert submit(client, edit_url, {**_edit_data(event), "reminders": ""}).status_code == 302
    assert reminders.reminder_offsets(event.id) == []
    assert re.search(r'<input[^>]*name="reminders"[^>]*value=""', client.get(edit_url).get_data(as_text=True))


def test_a_form_without_the_field_leaves_the_reminders_alone(client, make, new_event):
    """An editor page opened before the field existed, or a script, must not silently reset them."""
    user, org = make.organizer()
    event = new_event(user, org)
    reminders.set_reminder_offsets(user.id, event.id, [45])
    login(client, user)
    response = submit(client, f"/orgs/{org.slug}/events/{event.uuid}/edit", _edit_data(event))
    assert response.status_code == 302
    assert reminders.reminder_offsets(event.id) == [45]


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("soon", "“soon” is not a time before the start. Write each like 2d, 24h or 30m, separated by commas."),
        ("24h, 90", "“90” needs a unit: 90m for minutes, 90h for hours or 90d for days."),
        ("15d", "Up to 5 reminders, from 1 minute to 14 days before."),
        ("0m", "Up to 5 reminders, from 1 minute to 14 days before."),
        ("1m, 2m, 3m, 4m, 5m, 6m", "Up to 5 reminders, from 1 minute to 14 days before."),
        ("x" * 5000, "“xxxxxxxxxxxxxxxxxxxx…” is not a time"),
    ],
)
def test_bad_reminder_times_show_a_message_and_change_nothing(client, make, new_event, db, typed, message):
    user, org = make.organizer()
    event = new_event(user, org)
    reminders.set_reminder_offsets(user.id, event.id, [90])
    login(client, user)

    edit_url = f"/orgs/{org.slug}/events/{event.uuid}/edit"
    response = submit(client, edit_url, {**_edit_data(event), "title": "A new title", "reminders": typed})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html and 'id="reminders-error"' in html
    if len(typed) < 100:
        assert f'value="{typed}"' in html  # what was typed stays, to be corrected
    db.session.expire_all()
    assert db.session.get(Event, event.id).title == "Flex Friday meetup"
    assert reminders.reminder_offsets(event.id) == [90]

    created = submit(client, f"/orgs/{org.slug}/events/new", editor_data(title="Never made", reminders=typed))
    assert created.status_code == 422 and message in created.get_data(as_text=True)
    assert db.session.scalar(select(Event.id).where(Event.title == "Never made")) is None


@pytest.mark.browser
def test_organizer_sets_reminder_times_in_the_editor(page, live_server, make, new_event):
    user, org = make.organizer(org="Flex Movement")
    event = new_event(user, org, title="Flex Friday meetup: Midtown")
    log_in_browser(page, live_server, user.email)

    page.goto(f"{live_server}/orgs/{org.slug}/events/{event.uuid}/edit")
    field = page.get_by_label("Reminders")
    assert field.input_value() == "24h, 1h"
    assert page.get_by_text("Leave empty to send none.").is_visible()
    field.fill("2 days, 3h, ten minutes")
    page.get_by_role("button", name="Save changes").click()
    assert page.get_by_text("“ten minutes” is not a time before the start.").is_visible()
    assert page.get_by_label("Reminders").get_attribute("aria-invalid") == "true"
    assert reminders.reminder_offsets(event.id) == [1440, 60]
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("fieldset").nth(1).screenshot(path=str(ARTIFACTS / "event_editor_reminders_error.png"))

    page.get_by_label("Reminders").fill("2 days, 3h, 10m")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(f"**/events/{event.uuid}")
    assert page.get_by_text("Saved.").is_visible()
    assert reminders.reminder_offsets(event.id) == [2880, 180, 10]

    page.goto(f"{live_server}/orgs/{org.slug}/events/{event.uuid}/edit")
    assert page.get_by_label("Reminders").input_value() == "2d, 3h, 10m"
    page.locator("fieldset").nth(1).screenshot(path=str(ARTIFACTS / "event_editor_reminders.png"))
