"""Signing against a real gunicorn on PostgreSQL: concurrency decided by the database, counts that add up."""

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from mobilize.core.models import OutboundMail
from mobilize.petitions import signing, tasks
from mobilize.petitions.models import Signature
from tests.support import infra
from tests.support.web import csrf_token_from

STARTED = re.compile(r'name="started" type="hidden" value="([^"]+)"')


@pytest.fixture(scope="module")
def sign_server(process_env, database_url):
    """A gunicorn of our own with the signing limits raised: every request here comes from 127.0.0.1."""
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent signing is decided by PostgreSQL")
    env = {**process_env, "PETITION_SIGN_RATE_LIMIT": "100000/minute",
           "PETITION_SIGN_GLOBAL_RATE_LIMIT": "100000/minute", "PETITION_MIN_FILL_SECONDS": "0"}
    server, base = infra.start_gunicorn(env, workers=2, threads=8)
    yield base
    server.stop()


def fresh_session() -> requests.Session:
    """Cookies kept, connections not: reusing one the server just closed for idling resets a POST."""
    session = requests.Session()
    session.headers["Connection"] = "close"
    return session


class Browser:
    """One supporter's session: the page's CSRF and fill-time tokens, reused for each submission."""

    def __init__(self, base: str, slug: str):
        self.session = fresh_session()
        self.url = f"{base}/petitions/{slug}"
        html = self.session.get(self.url, timeout=30).text
        self.tokens = {"csrf_token": csrf_token_from(html), "started": STARTED.search(html).group(1)}

    def sign(self, email: str) -> int:
        data = {**self.tokens, "given_name": "Sam", "family_name": "Surge", "email": email, "postal_code": "62701",
                "country": "US"}
        return self.session.post(self.url + "/sign", data=data, allow_redirects=False, timeout=60).status_code


def test_fifty_simultaneous_submissions_of_one_email_leave_one_signature(sign_server, db, petitions):
    petition = petitions.petition()
    browsers = [Browser(sign_server, petition.slug) for _ in range(50)]
    barrier = threading.Barrier(50)

    def sign(browser):
        barrier.wait()
        return browser.sign("Same.Person+surge@gmail.com")

    with ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(sign, browsers))
    assert statuses == [302] * 50
    assert db.session.scalar(select(func.count()).select_from(Signature)) == 1
    assert db.session.scalar(select(func.count()).select_from(OutboundMail)) == 1


@pytest.mark.slow
def test_a_thousand_simultaneous_signatures_are_all_stored_and_counted(sign_server, db, petitions):
    petition = petitions.petition()
    clients = 25
    browsers = [Browser(sign_server, petition.slug) for _ in range(clients)]

    def sign_many(n):
        return [browsers[n].sign(f"surge{n}-{i}@example.org") for i in range(1000 // clients)]

    with ThreadPoolExecutor(clients) as pool:
        statuses = [status for batch in pool.map(sign_many, range(clients)) for status in batch]
    assert statuses == [302] * 1000
    assert db.session.scalar(select(func.count()).where(Signature.petition_id == petition.id)) == 1000

    # A third open their link, then all press the button at once; fifty press it twice.
    tokens = [signing.confirmation_token(s.uuid) for s in db.session.scalars(select(Signature).order_by(Signature.id))]
    chosen = tokens[: len(tokens) // 3]

    def open_page(token):
        session = fresh_session()
        url = f"{sign_server}/signatures/confirm/{token}"
        return session, url, csrf_token_from(session.get(url, timeout=30).text)

    def press(page):
        session, url, csrf = page
        return session.post(url, data={"csrf_token": csrf}, allow_redirects=False, timeout=60).status_code

    with ThreadPoolExecutor(25) as pool:
        pages = list(pool.map(open_page, chosen))
        statuses = list(pool.map(press, pages + pages[:50]))
    assert set(statuses) == {302}

    confirmed = db.session.scalar(select(func.count()).where(Signature.petition_id == petition.id, Signature.counted))
    assert confirmed == len(chosen)
    assert requests.get(f"{sign_server}/petitions/{petition.slug}/count", timeout=10).json()["signatures"] == 0
    tasks.count_signatures()  # one count cycle, as the worker runs it
    shown = requests.get(f"{sign_server}/petitions/{petition.slug}/count", timeout=10).json()["signatures"]
    assert shown == confirmed
