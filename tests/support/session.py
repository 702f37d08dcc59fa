"""Logging a test client in through the real log-in form."""

from tests.support.factories import PASSWORD
from tests.support.web import submit


def login(client, user, password: str = PASSWORD) -> None:
    response = submit(client, "/login", {"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
