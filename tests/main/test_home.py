def test_home_page_shows_upcoming_public_events_only(client, make):
    _, org = make.organizer()
    make.event(org, title="Flex rally downtown")
    make.event(org, title="Secret planning call", visibility="private")
    html = client.get("/").get_data(as_text=True)
    assert "Coming up" in html and "Flex rally downtown" in html
    assert "Secret planning call" not in html


def test_home_page_without_events_or_petitions_still_renders(client):
    html = client.get("/").get_data(as_text=True)
    assert "Work that fits life" in html and "Coming up" not in html
