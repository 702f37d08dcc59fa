"""A supporter signs in a real browser, confirms from the real email, and sees the count rise."""

import os
import re
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from mobilize.petitions import tasks
from mobilize.petitions.models import Signature
from tests.support.infra import body_text, wait_until
from tests.support.session import log_in_browser

pytestmark = pytest.mark.browser
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", "test-artifacts"))
BODY = ("Millions of us do jobs that could be done from home, or on hours that fit school runs and caregiving.\n\n"
        "We ask for:\n\n- a right to request flexible work from day one\n- a written answer within 30 days")


@contextmanager
def partner_site(html: str):
    """Another site on loopback (localhost, not 127.0.0.1: another origin and site) serving one page."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's hook name
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(html.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_port}/"
    finally:
        server.shutdown()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_supporter_signs_confirms_by_email_and_sees_the_count_rise(live_server, celery_worker, smtp_server, page,
                                                                    petitions):
    petition = petitions.petition(title="Give every worker the right to request flexible work", body=BODY,
                                  summary="Congress: give every employee the right to ask for remote work or "
                                          "flexible hours, and a written answer within 30 days.")
    page.goto(f"{live_server}/petitions/{petition.slug}")
    assert page.locator("[data-count]").first.inner_text() == "0"
    page.get_by_role("textbox", name="First name").fill("Grace")
    page.get_by_role("textbox", name="Last name").fill("Kim")
    page.get_by_role("textbox", name="Email").fill("grace.kim@example.org")
    page.get_by_role("textbox", name="Postal code").fill("10001")
    page.get_by_label("Why are you signing? (optional)").fill("Flexible hours let me care for my dad.")
    page.get_by_label("Show my first name").check()
    page.wait_for_timeout(3200)  # people take longer than the minimum fill time
    page.get_by_role("button", name="Sign the petition").click()
    page.get_by_role("heading", name="Check your email").wait_for()

    [message] = smtp_server.wait_for(1, to="grace.kim@example.org")
    link = re.search(r"(http://\S+/signatures/confirm/\S+)", body_text(message)).group(1)
    page.goto(link)
    page.get_by_role("button", name="Confirm my signature").click()
    page.get_by_role("heading", name="Thank you!").wait_for()

    tasks.count_signatures.delay()  # the worker's count cycle, as beat runs it every few seconds

    def count_shown():
        page.goto(f"{live_server}/petitions/{petition.slug}")
        return page.locator("[data-count]").first.inner_text() == "1"

    wait_until(count_shown, timeout=30, interval=0.5, what="the count to show 1")
    assert "Grace K." in page.locator(".signer-list").inner_text()
    screenshot(page, "petition-page")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "petition-page-mobile")


def test_the_widget_signs_inside_another_sites_frame(live_server, db, page, petitions):
    petition = petitions.petition(title="Keep meetings inside school hours")
    partner = (
        "<body style='font-family:sans-serif;background:#f6f3ee;padding:2rem'><h1>Parents at Work</h1>"
        "<p>Our campaign this month: sign below.</p>"
        f"<iframe src='{live_server}/petitions/{petition.slug}/embed' width='440' height='640'"
        " style='border:1px solid #ddd;background:#fff'></iframe></body>"
    )
    with partner_site(partner) as url:
        page.goto(url)
        frame = page.frame_locator("iframe")
        frame.get_by_role("textbox", name="First name").fill("Omar")
        frame.get_by_role("textbox", name="Last name").fill("Haddad")
        frame.get_by_role("textbox", name="Email").fill("omar@example.org")
        frame.get_by_role("textbox", name="Postal code").fill("62701")
        screenshot(page, "petition-embed")
        page.wait_for_timeout(3200)
        frame.get_by_role("button", name="Sign the petition").click()
        frame.get_by_role("heading", name="Check your email").wait_for()
    assert db.session.scalar(select(Signature.source)) == "embed"


def test_organizers_see_their_petitions_and_signatures(live_server, page, petitions, make):
    user, org = make.organizer(org="Parents at Work")
    one = petitions.petition(org, user, title="Keep meetings inside school hours", goal=250)
    petitions.petition(org, user, title="Paid carer leave for every parent", status="draft")
    for n, name in enumerate(("Grace", "Omar", "Lena")):
        petitions.confirmed(one, f"{name.lower()}@example.org", given_name=name, family_name="Signer",
                            comment="Meetings at 5pm mean I miss bedtime." if n == 0 else "", public=True)
    petitions.sign(one, "pending@example.org", given_name="Pat")
    tasks.count_signatures()
    log_in_browser(page, live_server, user.email)
    page.goto(f"{live_server}/orgs/{org.slug}/petitions")
    assert "Keep meetings inside school hours" in page.content()
    screenshot(page, "petition-organizer-list")
    page.get_by_role("row", name="Keep meetings inside school hours").get_by_role("link", name="Signatures").click()
    page.get_by_role("heading", name="Keep meetings inside school hours").wait_for()
    assert "pending@example.org" in page.content()
    screenshot(page, "petition-organizer-signatures")
