import csv
import io
import re

import pytest
from sqlalchemy import func, select

from mobilize.core.models import OutboundMail
from mobilize.petitions import forms, services, signing, tasks
from mobilize.petitions.models import Petition, Signature
from tests.support.session import login
from tests.support.web import csrf_token_from, submit

SIGNER = {"given_name": "Grace", "family_name": "Kim", "email": "grace@example.org", "postal_code": "10001",
          "country": "US", "comment": "Flexible hours let me care for my dad.", "public": "y", "opt_in": "y"}


@pytest.fixture(autouse=True)
def no_fill_delay(app):
    """The fill-time check is tested on its own; elsewhere forms may be sent at once."""
    saved = app.config["PETITION_MIN_FILL_SECONDS"]
    app.config["PETITION_MIN_FILL_SECONDS"] = 0
    yield
    app.config["PETITION_MIN_FILL_SECONDS"] = saved


def sign_via_form(client, petition, **changes):
    page = f"/petitions/{petition.slug}"
    html = client.get(page).get_data(as_text=True)
    started = re.search(r'name="started" type="hidden" value="([^"]+)"', html).group(1)
    data = {"csrf_token": csrf_token_from(html), "started": started, **SIGNER, **changes}
    return client.post(f"{page}/sign", data={k: v for k, v in data.items() if v is not None})


def count_signatures(db):
    return db.session.scalar(select(func.count()).select_from(Signature))


def test_petition_page_shows_the_ask_targets_count_and_share_tags(client, petitions):
    petition = petitions.petition(image_url="https://images.example/flex.jpg", body="We **need** this.")
    services.add_target(petition.organizer.id, petition.id, name="Sam Roe", title="Chair", organization="Board")
    html = client.get(f"/petitions/{petition.slug}").get_data(as_text=True)
    assert "Sam Roe" in html and "Chair, Board" in html
    assert petition.title in html and petition.summary in html
    assert "<strong>need</strong>" in html
    assert "Jane Doe" in html and "Acme Co" in html and "jane@acme.example" not in html
    assert 'property="og:image" content="https://images.example/flex.jpg"' in html
    assert f'property="og:url" content="http://mobilize.test/petitions/{petition.slug}"' in html
    assert "Sign the petition" in html and 'name="website"' in html


def test_signing_through_the_form_asks_to_check_email_and_queues_the_link(client, db, petitions):
    petition = petitions.petition()
    response = sign_via_form(client, petition)
    assert response.status_code == 302 and response.location.endswith(f"/petitions/{petition.slug}/check-email")
    assert "Check your email" in client.get(response.location).get_data(as_text=True)
    [signature] = db.session.scalars(select(Signature)).all()
    assert signature.public and signature.opt_in_wording and signature.source == "web"
    assert signature.ip_address == "127.0.0.1"
    assert db.session.scalar(select(func.count()).select_from(OutboundMail)) == 1


def test_signing_again_looks_exactly_like_signing_first(client, petitions):
    petition = petitions.petition()
    first = sign_via_form(client, petition)
    again = sign_via_form(client, petition, email="GRACE@example.org")
    assert (first.status_code, first.location) == (again.status_code, again.location)


def test_a_filled_honeypot_is_thanked_and_stores_nothing(client, db, petitions):
    petition = petitions.petition()
    response = sign_via_form(client, petition, website="http://spam.example")
    assert response.status_code == 302
    assert count_signatures(db) == 0


def test_a_form_sent_faster_than_a_person_types_is_refused(app, client, db, petitions):
    petition = petitions.petition()
    app.config["PETITION_MIN_FILL_SECONDS"] = 60
    response = sign_via_form(client, petition)
    assert response.status_code == 422 and "That was quick" in response.get_data(as_text=True)
    forged = sign_via_form(client, petition, started=f"{petition.id}.AAAAAA.forged")
    assert forged.status_code == 422
    assert count_signatures(db) == 0


def test_the_fill_time_token_is_bound_to_its_petition(app, petitions):
    one = petitions.petition(title="One")
    other = petitions.petition(title="Other")
    token = forms.started_token(one.id)
    assert not forms.filled_too_fast(token, one.id)
    assert forms.filled_too_fast(token, other.id)


@pytest.mark.parametrize("changes, message", [
    ({"email": "grace@"}, "email"),
    ({"given_name": ""}, "Enter your first name."),
    ({"comment": "x" * 501}, "500"),
    ({"postal_code": "9" * 21}, "20"),
    ({"country": "ZZ"}, "Choose a country from the list."),
])
def test_bad_input_gets_a_clear_form_error_and_stores_nothing(client, db, petitions, changes, message):
    petition = petitions.petition()
    response = sign_via_form(client, petition, **changes)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count_signatures(db) == 0


def test_a_wrong_csrf_token_is_refused_with_a_clear_message(client, db, petitions):
    petition = petitions.petition()
    response = sign_via_form(client, petition, csrf_token="forged")
    assert response.status_code == 400
    assert "The form expired" in response.get_data(as_text=True)
    assert count_signatures(db) == 0


def test_closed_and_draft_petitions(client, db, petitions):
    closed = petitions.petition(title="Closed one", status="closed")
    draft = petitions.petition(title="Draft one", status="draft")
    html = client.get(f"/petitions/{closed.slug}").get_data(as_text=True)
    assert "no longer takes signatures" in html and "Sign the petition" not in html
    assert client.get(f"/petitions/{draft.slug}").status_code == 404
    assert client.post(f"/petitions/{draft.slug}/embed", data=SIGNER).status_code == 404


def test_a_petition_that_closed_while_the_form_was_open_refuses_clearly(client, db, petitions):
    petition = petitions.petition()
    html = client.get(f"/petitions/{petition.slug}").get_data(as_text=True)
    started = re.search(r'name="started" type="hidden" value="([^"]+)"', html).group(1)
    petition.status = "closed"
    db.session.commit()
    response = client.post(f"/petitions/{petition.slug}/sign",
                           data={"csrf_token": csrf_token_from(html), "started": started, **SIGNER})
    assert response.status_code == 409 and "no longer takes signatures" in response.get_data(as_text=True)
    assert count_signatures(db) == 0


def test_signing_a_closed_petition_through_the_widget_is_refused_clearly(client, db, petitions):
    petition = petitions.petition()
    html = client.get(f"/petitions/{petition.slug}/embed").get_data(as_text=True)
    started = re.search(r'name="started" type="hidden" value="([^"]+)"', html).group(1)
    petition.status = "closed"
    db.session.commit()
    response = client.post(f"/petitions/{petition.slug}/embed", data={"started": started, **SIGNER})
    assert response.status_code == 409
    assert "closed" in response.get_data(as_text=True)
    assert count_signatures(db) == 0


def test_the_organizers_draft_preview(client, petitions):
    draft = petitions.petition(status="draft")
    login(client, draft.organizer)
    html = client.get(f"/petitions/{draft.slug}").get_data(as_text=True)
    assert "Draft preview" in html


def test_rate_limit_per_ip_per_petition_answers_429_with_a_clear_page(app, client, db, petitions):
    petition = petitions.petition()
    other = petitions.petition(title="Another")
    saved = app.config["PETITION_SIGN_RATE_LIMIT"]
    app.config["PETITION_SIGN_RATE_LIMIT"] = "2/minute"
    try:
        assert sign_via_form(client, petition, email="a@example.org").status_code == 302
        assert sign_via_form(client, petition, email="b@example.org").status_code == 302
        limited = sign_via_form(client, petition, email="c@example.org")
        assert limited.status_code == 429
        assert "Too many signatures from your connection" in limited.get_data(as_text=True)
        assert limited.headers.get("Retry-After")
        assert sign_via_form(client, other, email="c@example.org").status_code == 302
    finally:
        app.config["PETITION_SIGN_RATE_LIMIT"] = saved
    assert count_signatures(db) == 3


def test_the_global_sign_limit_covers_every_petition(app, client, db, petitions):
    one, two = petitions.petition(title="One"), petitions.petition(title="Two")
    saved = app.config["PETITION_SIGN_GLOBAL_RATE_LIMIT"]
    app.config["PETITION_SIGN_GLOBAL_RATE_LIMIT"] = "1/minute"
    try:
        assert sign_via_form(client, one, email="a@example.org").status_code == 302
        limited = sign_via_form(client, two, email="b@example.org")
        assert limited.status_code == 429 and "So many people are signing" in limited.get_data(as_text=True)
    finally:
        app.config["PETITION_SIGN_GLOBAL_RATE_LIMIT"] = saved


def test_the_emailed_link_shows_a_button_and_only_the_post_confirms(client, db, petitions):
    petition = petitions.petition()
    signature = petitions.sign(petition, "lena@example.org", given_name="Lena")
    url = f"/signatures/confirm/{signing.confirmation_token(signature.uuid)}"
    page = client.get(url)
    assert page.status_code == 200 and "Confirm my signature" in page.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(Signature, signature.id).counted
    response = submit(client, url, {})
    assert response.status_code == 302 and response.location.endswith(f"/petitions/{petition.slug}/thanks")
    db.session.expire_all()
    assert db.session.get(Signature, signature.id).counted
    assert "Thank you!" in client.get(response.location).get_data(as_text=True)


def test_forged_confirmation_links_get_a_clear_error(client):
    response = client.get("/signatures/confirm/not-a-real-token")
    assert response.status_code == 422
    assert "not valid" in response.get_data(as_text=True)


def test_the_count_json_and_the_page_read_the_folded_count(client, db, petitions):
    petition = petitions.petition()
    for n in range(3):
        petitions.confirmed(petition, f"s{n}@example.org")
    assert client.get(f"/petitions/{petition.slug}/count").get_json()["signatures"] == 0
    tasks.count_signatures()
    db.session.expire_all()  # the task ran in its own app context; requests here share the test's session
    response = client.get(f"/petitions/{petition.slug}/count")
    assert response.get_json() == {"signatures": 3, "goal": 100, "status": "open"}
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "max-age=5" in response.headers["Cache-Control"]
    assert ">3</strong> signatures" in client.get(f"/petitions/{petition.slug}").get_data(as_text=True)


def test_the_count_page_never_counts_rows(app, client, db, petitions, monkeypatch):
    monkeypatch.setitem(app.config, "PETITION_COUNT_MEMO_SECONDS", 60)  # however slow this machine is today
    petition = petitions.petition()
    statements = []

    from sqlalchemy import event

    def record(conn, cursor, statement, *args):
        statements.append(statement.lower())

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        client.get(f"/petitions/{petition.slug}/count")
        client.get(f"/petitions/{petition.slug}")
        asked = len(statements)
        for _ in range(20):  # polls within the memo's time are answered from the process's memory
            client.get(f"/petitions/{petition.slug}/count")
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert statements and not [s for s in statements if "count(" in s and "signatures" in s]
    assert len(statements) == asked


def test_public_signers_show_only_opted_in_confirmed_names_with_an_initial(client, db, petitions):
    petition = petitions.petition()
    petitions.confirmed(petition, "grace@example.org", given_name="Grace", family_name="Kim", public=True,
                        comment="For my dad.", postal_code="10001", country="US")
    petitions.confirmed(petition, "hidden@example.org", given_name="Hidden", family_name="Person", public=False)
    petitions.sign(petition, "pending@example.org", given_name="Pending", public=True)
    for url in (f"/petitions/{petition.slug}", f"/petitions/{petition.slug}/signers"):
        html = client.get(url).get_data(as_text=True)
        assert "Grace K." in html and "For my dad." in html and "New York, NY" in html
        assert "Kim" not in html and "grace@example.org" not in html
        assert "Hidden" not in html and "Pending" not in html


def test_the_widget_is_framable_and_signs_without_a_session(client, db, petitions):
    petition = petitions.petition()
    page = client.get(f"/petitions/{petition.slug}").headers
    assert page["X-Frame-Options"] == "DENY"
    response = client.get(f"/petitions/{petition.slug}/embed")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response.headers
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]
    assert "Set-Cookie" not in response.headers
    html = response.get_data(as_text=True)
    started = re.search(r'name="started" type="hidden" value="([^"]+)"', html).group(1)
    cookieless = client.application.test_client()  # as in a cross-site frame: no session cookie at all
    signed = cookieless.post(f"/petitions/{petition.slug}/embed",
                                                   data={"started": started, **SIGNER})
    assert signed.status_code == 302 and "signed=1" in signed.location
    assert "Check your email" in client.get(signed.location).get_data(as_text=True)
    assert db.session.scalar(select(Signature.source)) == "embed"


def test_the_widgets_rate_limit_page_can_show_in_its_frame(app, client, petitions):
    petition = petitions.petition()
    saved = app.config["PETITION_SIGN_RATE_LIMIT"]
    app.config["PETITION_SIGN_RATE_LIMIT"] = "0/minute"
    try:
        response = client.post(f"/petitions/{petition.slug}/embed", data=SIGNER)
    finally:
        app.config["PETITION_SIGN_RATE_LIMIT"] = saved
    assert response.status_code == 429
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]


def test_index_lists_open_petitions_with_their_counts(client, db, petitions):
    petition = petitions.petition()
    petitions.petition(title="Secret draft", status="draft")
    html = client.get("/petitions").get_data(as_text=True)
    assert petition.title in html and "Secret draft" not in html


# ------------------------------------------------------------------ organizers

def test_organizers_create_target_and_open_a_petition(client, db, make):
    user, org = make.organizer()
    login(client, user)
    assert client.get(f"/orgs/{org.slug}/petitions").status_code == 200
    response = submit(client, f"/orgs/{org.slug}/petitions/new", {
        "title": "Job sharing for nurses", "summary": "Let nurses share one post.", "goal": "250",
        "body": "<script>alert(1)</script> **Share** the load",
    })
    assert response.status_code == 302
    petition = db.session.scalar(select(Petition))
    assert petition.slug == "job-sharing-for-nurses" and petition.status == "draft"
    assert "<script>" not in petition.body_html and "<strong>Share</strong>" in petition.body_html
    edit_url = response.location

    refused = submit(client, edit_url, {"title": petition.title, "summary": petition.summary, "goal": "250",
                                        "status": "open"})
    assert refused.status_code == 200 and "Add at least one target" in refused.get_data(as_text=True)

    submit(client, edit_url, {"name": "Pat Lee", "title": "Chief Nurse", "organization": "City Hospital"},
           action=f"{edit_url}/targets")
    opened = submit(client, edit_url, {"title": petition.title, "summary": petition.summary, "goal": "250",
                                       "status": "open", "slug": petition.slug})
    assert opened.status_code == 302
    db.session.expire_all()
    petition = db.session.get(Petition, petition.id)
    assert petition.status == "open" and [t.name for t in petition.targets] == ["Pat Lee"]
    listing = client.get(f"/orgs/{org.slug}/petitions").get_data(as_text=True)
    assert "Job sharing for nurses" in listing and "Open" in listing


def test_organizer_pages_are_for_members_only(client, petitions, make):
    petition = petitions.petition()
    outsider, _ = make.organizer()
    login(client, outsider)
    org_slug = petition.organization.slug
    assert client.get(f"/orgs/{org_slug}/petitions").status_code == 403
    assert client.get(f"/orgs/{org_slug}/petitions/{petition.uuid}/signatures").status_code == 403
    assert client.get(f"/orgs/{org_slug}/petitions/{petition.uuid}/signatures.csv").status_code == 403


def test_signature_list_filters_hides_comments_and_invalidates(client, db, petitions):
    petition = petitions.petition()
    petitions.confirmed(petition, "grace@example.org", given_name="Grace", comment="Rude words", public=True)
    pending = petitions.sign(petition, "omar@example.org", given_name="Omar")
    tasks.count_signatures()
    login(client, petition.organizer)
    base = f"/orgs/{petition.organization.slug}/petitions/{petition.uuid}/signatures"
    html = client.get(base).get_data(as_text=True)
    assert "grace@example.org" in html and "omar@example.org" in html
    confirmed_only = client.get(base + "?status=confirmed").get_data(as_text=True)
    assert "grace@example.org" in confirmed_only and "omar@example.org" not in confirmed_only
    assert "omar@example.org" in client.get(base + "?q=omar").get_data(as_text=True)

    grace = db.session.scalar(select(Signature).where(Signature.given_name == "Grace"))
    submit(client, base, {"hide": "1"}, action=f"{base}/{grace.uuid}/comment")
    assert "Rude words" not in client.get(f"/petitions/{petition.slug}").get_data(as_text=True)

    response = submit(client, f"{base}/{pending.uuid}/invalidate", {"reason": "Fake name"})
    assert response.status_code == 302
    bulk = submit(client, base, {"reason": "Test burst", "email_domain": "example.org"}, action=f"{base}/invalidate")
    assert bulk.status_code == 302
    tasks.count_signatures()
    db.session.expire_all()
    assert db.session.get(Petition, petition.id).signature_count == 0
    empty = submit(client, base, {"reason": "Nothing chosen"}, action=f"{base}/invalidate")
    assert empty.status_code == 422 and "Choose signatures by" in empty.get_data(as_text=True)


def test_updates_appear_on_the_petition_page(client, petitions):
    petition = petitions.petition()
    login(client, petition.organizer)
    url = f"/orgs/{petition.organization.slug}/petitions/{petition.uuid}/updates"
    assert submit(client, url, {"title": "We met the CEO", "body": "She *listened*."}).status_code == 302
    html = client.get(f"/petitions/{petition.slug}").get_data(as_text=True)
    assert "We met the CEO" in html and "<em>listened</em>" in html


def test_csv_export_streams_every_signature(client, db, petitions):
    petition = petitions.petition()
    petitions.confirmed(petition, "first@example.org", given_name="=cmd()", comment="+SUM(A1)")
    rows = 6_000  # three batches of the server-side cursor
    _bulk_signatures(db, petition, rows)
    login(client, petition.organizer)
    response = client.get(f"/orgs/{petition.organization.slug}/petitions/{petition.uuid}/signatures.csv")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Type"].startswith("text/csv")
    body = response.get_data(as_text=True)
    parsed = list(csv.DictReader(io.StringIO(body)))
    assert len(parsed) == rows + 1
    first = parsed[0]
    assert first["email"] == "first@example.org" and first["status"] == "confirmed"
    assert first["given_name"] == "'=cmd()" and first["comment"] == "'+SUM(A1)"
    assert len({r["signature_id"] for r in parsed}) == rows + 1


def _bulk_signatures(db, petition, rows):
    """Many signers at once, written as rows (the form would take minutes)."""
    import uuid

    from mobilize.core.models import utcnow
    from mobilize.people.models import Person

    now = utcnow()
    people = [{"uuid": uuid.uuid4(), "email": f"bulk{n}@example.org", "email_normalized": f"bulk{n}@example.org",
               "given_name": "Bulk", "family_name": f"Signer{n}", "created_at": now, "modified_at": now}
              for n in range(rows)]
    db.session.execute(Person.__table__.insert(), people)
    ids = db.session.scalars(select(Person.id).where(Person.email.like("bulk%")).order_by(Person.id)).all()
    db.session.execute(Signature.__table__.insert(), [
        {"uuid": uuid.uuid4(), "petition_id": petition.id, "person_id": pid, "given_name": "Bulk",
         "family_name": "Signer", "created_at": now, "modified_at": now, "confirmed_at": now, "source": "web",
         "public": False, "confirmations_sent": 1, "postal_code": "", "locality": "", "country": "US", "comment": ""}
        for pid in ids
    ])
    db.session.commit()


def test_organizers_see_signing_times_in_their_zone_and_ip_addresses_only_where_they_invalidate(client, db, petitions):
    from datetime import UTC, datetime

    from mobilize.accounts import services as accounts

    petition = petitions.petition()
    accounts.update_organization(petition.organizer.id, petition.organization_id, timezone="Europe/Berlin")
    early, late = petitions.sign(petition, "early@example.org"), petitions.sign(petition, "late@example.org")
    early.created_at = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)  # noon in Berlin (CEST)
    late.created_at = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    db.session.commit()
    login(client, petition.organizer)
    base = f"/orgs/{petition.organization.slug}/petitions/{petition.uuid}/signatures"

    table = client.get(base).get_data(as_text=True)
    assert re.search(r"1 Jul( 2026)?, 12:00 PM CEST", table) and "10:00" not in table
    assert "203.0.113.9" not in table  # the factory's signing address
    assert "from IP address 203.0.113.9" in client.get(f"{base}/{early.uuid}/invalidate").get_data(as_text=True)

    # The bulk window is read in the organization's zone too: 11:30-13:00 Berlin holds the early one only.
    submit(client, base, {"reason": "Burst", "signed_after": "2026-07-01T11:30", "signed_before": "2026-07-01T13:00"},
           action=f"{base}/invalidate")
    db.session.expire_all()
    assert db.session.get(Signature, early.id).invalidated_at is not None
    assert db.session.get(Signature, late.id).invalidated_at is None
