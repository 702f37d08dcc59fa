"""Driving the HTML side as a browser does: real CSRF tokens from real pages."""

import re

CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def submit(client, page_url: str, data: dict, action: str | None = None, follow_redirects: bool = False):
    """GET the page, take its CSRF token, POST the form (to ``action`` or back to the page)."""
    page = client.get(page_url)
    assert page.status_code == 200, f"GET {page_url} gave {page.status_code}"
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post(action or page_url, data={"csrf_token": token, **data}, follow_redirects=follow_redirects)
