"""An invited organization's organizer accepts co-hosting in a real browser, on a phone and a desktop."""

import pytest

from tests.events.test_browser import _shot
from tests.support.session import log_in_browser

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [390, 1200])
def test_an_invited_organizer_finds_the_invitation_and_accepts_it(browser, live_server, make, new_event, width):
    host_user, host = make.organizer(org="Flex Movement")
    partner_user, partner = make.organizer(org="Parents at Work")
    event = new_event(host_user, host, title="Town hall with working parents", cohosts=[partner.slug])
    context = browser.new_context(viewport={"width": width, "height": 844}, is_mobile=width < 500)
    page = context.new_page()
    log_in_browser(page, live_server, partner_user.email)
    page.goto(f"{live_server}/orgs/{partner.slug}/events")
    assert page.get_by_role("heading", name="Invitations to co-host").is_visible()
    _shot(page, f"cohost_invitations_listed_{width}")
    page.get_by_role("link", name="Town hall with working parents").click()
    page.wait_for_url("**/cohost-invitations/*")
    assert page.get_by_role("heading", name="Co-host “Town hall with working parents”?", level=1).is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    _shot(page, f"cohost_invitation_{width}")
    page.get_by_role("button", name="Accept and co-host").click()
    page.wait_for_url(f"**/events/{event.uuid}")
    assert page.get_by_text("Parents at Work").first.is_visible()
    _shot(page, f"cohost_accepted_{width}")
    assert page.get_by_role("button", name="Edit", exact=True).is_visible()
    context.close()
