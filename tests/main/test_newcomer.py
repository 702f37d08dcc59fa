"""What a newcomer tripped on: the footer, the favicon, counts in words, duplicate ids, the thanks count."""

from collections import Counter
from html.parser import HTMLParser

from mobilize.petitions import signing
from mobilize.rsvps import services as rsvps
from tests.petitions.conftest import PetitionFactories
from tests.support.session import login


class Ids(HTMLParser):
    """Every id on a page, and every label's ``for``."""

    def __init__(self, html: str):
        super().__init__()
        self.ids, self.label_for = Counter(), []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids[attrs["id"]] += 1
        if tag == "label" and "for" in attrs:
            self.label_for.append(attrs["for"])


def test_the_footer_links_to_the_configured_source_and_never_to_a_bare_github(app, client):
    assert 'href="https://github.com/"' not in client.get("/").get_data(as_text=True)
    app.config["SOURCE_URL"] = "https://code.example.org/flex/mobilize"
    try:
        assert 'href="https://code.example.org/flex/mobilize">mobilize</a>' in client.get("/").get_data(as_text=True)
    finally:
        app.config["SOURCE_URL"] = ""


def test_every_page_has_a_favicon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert response.mimetype in ("image/x-icon", "image/vnd.microsoft.icon")
    assert response.cache_control.max_age == 86400
    home = client.get("/").get_data(as_text=True)
    assert 'rel="icon" href="/favicon.ico"' in home and "favicon.svg" in home
    assert client.get("/static/favicon.svg").status_code == 200


def test_one_seat_is_a_seat(client, make):
    user, org = make.organizer()
    event = make.event(org, capacity=None)
    rsvps.rsvp(event.id, email="one@example.net", given_name="Uno", timeslot_ids=[str(event.timeslots[0].uuid)],
               notify=False)
    login(client, user)
    page = client.get(f"/orgs/{org.slug}/events/{event.uuid}/attendees").get_data(as_text=True)
    assert "<strong>1 seat</strong> taken" in page and "1 seats" not in page


def test_the_petition_edit_page_has_unique_ids_and_each_label_its_field(client, make):
    petition = PetitionFactories(make).petition()
    login(client, petition.organizer)
    page = Ids(client.get(f"/orgs/{petition.organization.slug}/petitions/{petition.uuid}").get_data(as_text=True))
    assert [name for name, n in page.ids.items() if n > 1] == []
    assert {"title", "target-title"} <= set(page.ids)
    assert [target for target in page.label_for if target not in page.ids] == []


def test_the_thanks_page_counts_the_signature_just_confirmed(client, make):
    petitions = PetitionFactories(make)
    petition = petitions.petition()
    for n in range(2):
        petitions.confirmed(petition, f"early{n}@example.org")
    signature = petitions.sign(petition, "late@example.org")
    page = client.get(f"/signatures/confirm/{signing.confirmation_token(signature.uuid)}")
    token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    thanks = client.post(f"/signatures/confirm/{signing.confirmation_token(signature.uuid)}",
                         data={"csrf_token": token}, follow_redirects=True).get_data(as_text=True)
    assert '<strong class="count" data-count>3</strong> signatures' in thanks  # not folded yet: still counted
