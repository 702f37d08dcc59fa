"""Logging in through the real log-in form: a test client, or a browser page."""

from tests.support.factories import PASSWORD
from tests.support.web import submit


def login(client, user, password: str = PASSWORD) -> None:
    response = submit(client, "/login", {"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def log_in_browser(page, live_server: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/account")
