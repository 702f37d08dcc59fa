"""The RSVP rules, through the service layer, on the real database."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mobilize.core.errors import Conflict, Forbidden, Invalid, NotFound
from mobilize.core.mail import compose
from mobilize.core.models import OutboundMail, utcnow
from mobilize.events import access
from mobilize.extensions import db
from mobilize.people.models import Person, Subscription
from mobilize.people.services import people_visible_to
from mobilize.rsvps import attendees, links, services
from mobilize.rsvps.models import Attendance, Place, waitlist_positions


def statuses(attendance):
    db.session.refresh(attendance)
    return [p.status for p in attendance.places]


def seats(slot):
    db.session.refresh(slot)
    return slot.seats_taken


# ------------------------------------------------------------------ capacity and waitlist

def test_rsvp_confirms_and_counts_the_supporter_and_guests(org_event, rsvp_to):
    _, _, event = org_event
    attendance = rsvp_to(event, guests=2)
    assert statuses(attendance) == ["confirmed"]
    assert seats(event.timeslots[0]) == 3
    assert attendance.status == "confirmed"


def test_full_timeslot_waitlists_in_arrival_order_with_positions(make, rsvp_to):
    _, org = make.organizer()
    event = make.event(org, capacity=2)
    rsvp_to(event, guests=1)
    first, second = rsvp_to(event), rsvp_to(event)
    slot_id = event.timeslots[0].id
    assert statuses(first) == ["waitlisted"] and statuses(second) == ["waitlisted"]
    assert waitlist_positions(first) == {slot_id: 1}
    assert waitlist_positions(second) == {slot_id: 2}
    assert seats(event.timeslots[0]) == 2


def test_full_timeslot_without_waitlist_is_refused_and_nothing_is_stored(make, rsvp_to):
    _, org = make.organizer()
    event = make.event(org, capacity=1, allow_waitlist=False)
    rsvp_to(event)
    with pytest.raises(Conflict) as error:
        rsvp_to(event, "late@example.net")
    assert "full" in error.value.fields["timeslots"]
    assert db.session.scalar(select(Person).where(Person.email == "late@example.net")) is None
    assert seats(event.timeslots[0]) == 1


def test_unlimited_timeslot_always_confirms(make, rsvp_to):
    _, org = make.organizer()
    event = make.event(org, capacity=None)
    for _ in range(5):
        assert rsvp_to(event, guests=4).status == "confirmed"
    assert seats(event.timeslots[0]) == 25


def test_party_too_big_for_the_last_seats_waits_while_a_smaller_one_takes_them(make, rsvp_to):
    _, org = make.organizer()
    event = make.event(org, capacity=3)
    rsvp_to(event, guests=1)
    big = rsvp_to(event, guests=2)
    small = rsvp_to(event)
    assert statuses(big) == ["waitlisted"]
    assert statuses(small) == ["confirmed"]
    assert seats(event.timeslots[0]) == 3


def test_rsvping_again_with_the_same_email_updates_the_one_attendance(org_event, rsvp_to):
    _, _, event = org_event
    first = rsvp_to(event, "Pat.Doe+events@Gmail.com", guests=0)
    again = rsvp_to(event, "patdoe@gmail.com", guests=3)
    assert first.id == again.id
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 1
    assert db.session.scalar(select(func.count()).select_from(Person)) == 1
    assert seats(event.timeslots[0]) == 4


def test_rsvp_again_with_nothing_changed_sends_no_second_mail(org_event, rsvp_to):
    _, _, event = org_event
    rsvp_to(event, "same@example.net")
    rsvp_to(event, "same@example.net")
    assert len(rsvp_to.outbox("rsvp-confirmation")) == 1


def test_each_change_sends_one_updated_confirmation(org_event, rsvp_to):
    _, _, event = org_event
    attendance = rsvp_to(event, "changer@example.net")
    services.change_rsvp(attendance.id, timeslot_ids=[str(event.timeslots[0].uuid)], guests=2)
    mails = rsvp_to.outbox("rsvp-confirmation")
    assert [compose(m)[0].startswith("Updated:") for m in mails] == [False, True]  # composed when sent


def test_multi_timeslot_rsvp_holds_a_place_in_each(make, rsvp_to):
    _, org = make.organizer()
    event = make.event(org, capacity=1, slots=3)
    rsvp_to(event, slots=event.timeslots[1:2])
    attendance = rsvp_to(event, slots=event.timeslots, guests=0)
    assert statuses(attendance) == ["confirmed", "waitlisted", "confirmed"]
    assert attendance.status == "confirmed"


# ------------------------------------------------------------------ bad input changes nothing

def test_timeslot_of_another_event_is_refused(make, rsvp_to):
    _, org = make.organizer()
    event, other = make.event(org), make.event(org, title="Other")
    with pytest.raises(Invalid) as error:
        rsvp_to(event, slots=other.timeslots)
    assert "timeslots" in error.value.fields
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0
    assert seats(other.timeslots[0]) == 0


def test_guests_over_the_event_limit_are_refused(make, rsvp_to):
    _, org = make.organizer()
    event = make.event(org, max_guests=1)
    with pytest.raises(Invalid) as error:
        rsvp_to(event, guests=2)
    assert error.value.fields["guests"] == "You can bring up to 1 guest."
    with pytest.raises(Invalid):
        rsvp_to(event, guests=-1)
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0


def test_cancelled_event_takes_no_rsvps(make, rsvp_to):
    _, org = make.organizer()
    event = make.event(org, status="cancelled", cancelled_at=utcnow())
    with pytest.raises(Conflict):
        rsvp_to(event)
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0


def test_deleted_event_and_past_timeslot_are_refused(make, rsvp_to):
    _, org = make.organizer()
    past = make.event(org, start=utcnow() - timedelta(days=2))
    with pytest.raises(Invalid, match="passed"):
        rsvp_to(past)
    gone = make.event(org, deleted_at=utcnow())
    with pytest.raises(NotFound):
        rsvp_to(gone)


def test_invalid_email_and_missing_name_are_field_errors(org_event, rsvp_to):
    _, _, event = org_event
    with pytest.raises(Invalid) as error:
        rsvp_to(event, "not-an-email")
    assert "email" in error.value.fields
    with pytest.raises(Invalid) as error:
        rsvp_to(event, given_name=" ")
    assert "given_name" in error.value.fields


def test_raising_guests_beyond_the_seats_left_is_refused_and_keeps_the_seat(make, rsvp_to):
    _, org = make.organizer()
    event = make.event(org, capacity=3)
    rsvp_to(event, guests=1)
    attendance = rsvp_to(event)
    with pytest.raises(Conflict) as error:
        services.change_rsvp(attendance.id, timeslot_ids=[str(event.timeslots[0].uuid)], guests=2)
    assert "at most 0 guest" in error.value.fields["guests"]
    assert statuses(attendance) == ["confirmed"]
    assert seats(event.timeslots[0]) == 3


# ------------------------------------------------------------------ cancellations and promotions

def test_cancellation_promotes_the_first_waitlisted_party_that_fits_and_tells_them(make, rsvp_to):
    _, org = make.organizer()
    event = make.event(org, capacity=2)
    leaving = rsvp_to(event)
    rsvp_to(event)
    too_big = rsvp_to(event, guests=1)
    fits = rsvp_to(event, "fits@example.net")
    services.cancel_rsvp(leaving.id)
    assert statuses(leaving) == ["cancelled"]
    assert statuses(too_big) == ["waitlisted"]
    assert statuses(fits) == ["confirmed"]
    assert seats(event.timeslots[0]) == 2
    promoted = rsvp_to.outbox("rsvp-promoted")
    assert [m.to for m in promoted] == ["fits@example.net"]
    assert len(rsvp_to.outbox("rsvp-cancelled")) == 1


def test_promotion_follows_waitlist_order(make, rsvp_to):
    _, org = make.organizer()
    event = make.event(org, capacity=1)
    holder = rsvp_to(event)
    waiting = [rsvp_to(event) for _ in range(3)]
    services.cancel_rsvp(holder.id)
    assert [statuses(a)[0] for a in waiting] == ["confirmed", "waitlisted", "waitlisted"]
    slot_id = event.timeslots[0].id
    assert (waitlist_positions(waiting[1]), waitlist_positions(waiting[2])) == ({slot_id: 1}, {slot_id: 2})


def test_leaving_one_timeslot_frees_only_that_one(make, rsvp_to):
    _, org = make.organizer()
    event = make.event(org, capacity=1, slots=2)
    attendance = rsvp_to(event, slots=event.timeslots)
    services.change_rsvp(attendance.id, timeslot_ids=[str(event.timeslots[1].uuid)], guests=0)
    assert statuses(attendance) == ["cancelled", "confirmed"]
    assert [seats(s) for s in event.timeslots] == [0, 1]


def test_fewer_guests_lets_a_waitlisted_party_in(make, rsvp_to):
    _, org = make.organizer()
    event = make.event(org, capacity=4)
    big = rsvp_to(event, guests=3)
    waiting = rsvp_to(event, guests=1)
    services.change_rsvp(big.id, timeslot_ids=[str(event.timeslots[0].uuid)], guests=1)
    assert statuses(waiting) == ["confirmed"]
    assert seats(event.timeslots[0]) == 4


def test_rejoining_after_cancelling_goes_to_the_back_of_the_line(make, rsvp_to):
    _, org = make.organizer()
    event = make.event(org, capacity=1)
    rsvp_to(event)
    me = rsvp_to(event, "me@example.net")
    other = rsvp_to(event)
    services.cancel_rsvp(me.id)
    me = rsvp_to(event, "me@example.net")
    slot_id = event.timeslots[0].id
    assert waitlist_positions(other) == {slot_id: 1}
    assert waitlist_positions(me) == {slot_id: 2}


# ------------------------------------------------------------------ organizers

def test_capacity_below_the_confirmed_seats_is_refused(make, rsvp_to):
    user, org = make.organizer()
    event = make.event(org, capacity=10)
    rsvp_to(event, guests=2)
    rsvp_to(event, guests=1)
    slot = event.timeslots[0]
    with pytest.raises(Conflict) as error:
        services.set_capacity(user.id, slot.id, 4)
    assert "cannot go below 5" in error.value.message
    db.session.refresh(slot)
    assert slot.capacity == 10
    services.set_capacity(user.id, slot.id, 5)
    assert seats(slot) == 5


def test_raising_capacity_promotes_in_order(make, rsvp_to):
    user, org = make.organizer()
    event = make.event(org, capacity=1)
    rsvp_to(event)
    waiting = [rsvp_to(event) for _ in range(3)]
    services.set_capacity(user.id, event.timeslots[0].id, 3)
    assert [statuses(a)[0] for a in waiting] == ["confirmed", "confirmed", "waitlisted"]
    services.set_capacity(user.id, event.timeslots[0].id, None)
    assert statuses(waiting[2]) == ["confirmed"]
    assert len(rsvp_to.outbox("rsvp-promoted")) == 3


def test_only_organizers_of_the_host_or_a_cohost_manage_attendees(make, rsvp_to):
    owner, org = make.organizer()
    cohost_user, cohost = make.organizer(org="Cohost")
    stranger, _ = make.organizer(org="Elsewhere")
    event = make.event(org, capacity=5)
    event.cohosts.append(cohost)
    db.session.commit()
    attendance = rsvp_to(event)
    with pytest.raises(Forbidden):
        services.cancel_place(stranger.id, attendance.id)
    with pytest.raises(Forbidden):
        services.set_capacity(stranger.id, event.timeslots[0].id, 9)
    with pytest.raises(NotFound):
        access.event_for_organizer(stranger.id, event.uuid, slug="elsewhere-1")
    assert access.event_for_organizer(cohost_user.id, event.uuid, slug=cohost.slug).id == event.id
    services.cancel_place(cohost_user.id, attendance.id)
    assert statuses(attendance) == ["cancelled"]


def test_move_attendee_to_a_time_with_room_and_refuse_a_full_one(make, rsvp_to):
    user, org = make.organizer()
    event = make.event(org, capacity=1, slots=3)
    first, second, third = event.timeslots
    attendance = rsvp_to(event, slots=[first])
    rsvp_to(event, slots=[third])
    services.move_attendee(user.id, attendance.id, first.id, second.id)
    assert statuses(attendance) == ["cancelled", "confirmed"]
    with pytest.raises(Conflict, match="full"):
        services.move_attendee(user.id, attendance.id, second.id, third.id)
    assert statuses(attendance) == ["cancelled", "confirmed"]
    assert [seats(s) for s in (first, second, third)] == [0, 1, 1]


def test_attendance_is_marked_only_once_the_event_has_started(make, rsvp_to):
    user, org = make.organizer()
    event = make.event(org)
    attendance = rsvp_to(event)
    with pytest.raises(Invalid):
        services.mark_attended(user.id, attendance.id, True)
    event.timeslots[0].start_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    assert services.mark_attended(user.id, attendance.id, False).attended is False
    assert services.mark_attended(user.id, attendance.id, None).attended is None


def test_attendee_list_filters_and_searches(make, rsvp_to):
    user, org = make.organizer()
    event = make.event(org, capacity=1)
    rsvp_to(event, "ana@example.net", given_name="Ana", family_name="Lopez")
    rsvp_to(event, "bo@example.net", given_name="Bo", family_name="Chen")
    rows, total = attendees.attendee_page(event, search="lop")
    assert total == 1 and rows[0].Person.email == "ana@example.net"
    rows, total = attendees.attendee_page(event, status="waitlisted")
    assert [(r.Person.given_name, r.position) for r in rows] == [("Bo", 1)]
    rows, total = attendees.attendee_page(event, search="100%_")
    assert total == 0


# ------------------------------------------------------------------ opt-in, tracking, people

def test_opt_in_is_recorded_with_its_wording_and_tracking_with_the_rsvp(org_event, rsvp_to):
    _, org, event = org_event
    attendance = rsvp_to(event, opt_in=True, referrer="https://news.example/story",
                         utm={"utm_source": "newsletter", "utm_campaign": "fall"})
    sub = db.session.scalar(select(Subscription))
    assert sub.organization_id == org.id and sub.wording == services.opt_in_wording(org.name)
    assert sub.opted_in_at is not None
    assert (attendance.referrer, attendance.utm_source, attendance.utm_campaign) == (
        "https://news.example/story", "newsletter", "fall")


def test_no_opt_in_means_no_subscription(org_event, rsvp_to):
    _, _, event = org_event
    rsvp_to(event)
    assert db.session.scalar(select(func.count()).select_from(Subscription)) == 0


def test_attendees_count_among_the_people_an_organizer_sees(make, rsvp_to):
    user, org = make.organizer()
    other, _ = make.organizer(org="Other")
    rsvp_to(make.event(org), "fan@example.net")
    assert [p.email for p in db.session.scalars(people_visible_to(user.id))] == ["fan@example.net"]
    assert list(db.session.scalars(people_visible_to(other.id))) == []


# ------------------------------------------------------------------ links and tokens

def test_manage_link_finds_the_attendance_and_forgeries_do_not(org_event, rsvp_to):
    _, _, event = org_event
    attendance = rsvp_to(event)
    token = links.manage_token(attendance)
    assert links.attendance_for_token(token).id == attendance.id
    uuid_hex, key, signature = token.split(".")
    for forged in (f"{uuid_hex}.{key}.AAAA{signature[4:]}", f"{uuid_hex}.{key[:-1]}x.{signature}",
                   "", "garbage", f"{uuid_hex}.{key}"):
        with pytest.raises(NotFound):
            links.attendance_for_token(forged)


def test_replacing_the_manage_link_revokes_the_old_one_and_mails_the_new(org_event, rsvp_to):
    _, _, event = org_event
    attendance = rsvp_to(event, "keeper@example.net")
    old = links.manage_token(attendance)
    services.replace_manage_link(attendance.id)
    with pytest.raises(NotFound):
        links.attendance_for_token(old)
    new = links.manage_token(attendance)
    mail = rsvp_to.outbox("rsvp-link")[0]
    assert new in mail.text_body and old not in mail.text_body


def test_public_count_is_seats_taken(make, rsvp_to):
    _, org = make.organizer()
    event = make.event(org, capacity=None, slots=2)
    rsvp_to(event, guests=2)
    rsvp_to(event, slots=event.timeslots)
    db.session.refresh(event)
    assert attendees.going_count(event) == 5


def test_mail_is_queued_in_the_same_transaction_as_the_rsvp(make, rsvp_to):
    _, org = make.organizer()
    event = make.event(org, capacity=1, allow_waitlist=False)
    rsvp_to(event)
    with pytest.raises(Conflict):
        rsvp_to(event)
    assert db.session.scalar(select(func.count()).select_from(OutboundMail)) == 1
    assert db.session.scalar(select(func.count()).select_from(Place)) == 1


def test_mail_planned_on_stale_counts_is_rewritten_to_what_happened_under_the_lock(app, make, rsvp_to):
    _, org = make.organizer()
    event = make.event(org, capacity=1)
    assert event.timeslots[0].seats_taken == 0  # loaded here, and about to go stale
    with app.app_context():  # another request takes the last seat meanwhile
        rsvp_to(db.session.get(type(event), event.id), "quick@example.net")
    late = rsvp_to(event, "late@example.net")
    assert statuses(late) == ["waitlisted"]
    [message] = rsvp_to.outbox("rsvp-confirmation", to="late@example.net")
    subject, text, _ = compose(message)  # as the worker will send it
    assert "waitlist" in subject and "waitlist" in text
    assert message.attachments == []


def test_seat_freed_after_the_page_showed_the_timeslot_full_is_taken_not_waitlisted(app, make, rsvp_to):
    _, org = make.organizer()
    event = make.event(org, capacity=1)
    first = rsvp_to(event, "first@example.net")
    assert event.timeslots[0].seats_taken == 1  # loaded here, and about to go stale
    with app.app_context():  # another request cancels meanwhile
        services.cancel_rsvp(first.id)
    late = rsvp_to(event, "late@example.net")
    assert statuses(late) == ["confirmed"] and seats(event.timeslots[0]) == 1
    [message] = rsvp_to.outbox("rsvp-confirmation", to="late@example.net")
    subject, text, _ = compose(message)
    assert "waitlist" not in subject + text and message.attachments


def _slot_fields(slot, capacity):
    return {"uuid": str(slot.uuid), "start_at": slot.start_at.isoformat(), "end_at": slot.end_at.isoformat(),
            "capacity": capacity}


def test_event_editor_cannot_lower_capacity_below_confirmed_seats_and_raising_it_promotes(rsvp_to, make):
    from mobilize.events import services as events

    user, org = make.organizer()
    event = make.event(org, capacity=2)
    slot = event.timeslots[0]
    rsvp_to(event)
    rsvp_to(event)
    waiting = rsvp_to(event)
    assert waiting.status == "waitlisted"
    with pytest.raises(Invalid) as refused:
        events.update_event(user.id, event.uuid, {"timeslots": [_slot_fields(slot, 1)]})
    assert "cannot go below 2" in refused.value.message
    db.session.expire_all()
    assert (slot.capacity, slot.seats_taken) == (2, 2)
    events.update_event(user.id, event.uuid, {"timeslots": [_slot_fields(slot, 3)]})
    db.session.expire_all()
    assert (slot.capacity, slot.seats_taken) == (3, 3)
    assert db.session.get(type(waiting), waiting.id).status == "confirmed"
