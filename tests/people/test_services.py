from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from mobilize.core.errors import Invalid
from mobilize.people import services
from mobilize.people.models import Person


@pytest.mark.parametrize("given, key", [
    ("Jane.Doe+news@Gmail.com", "janedoe@gmail.com"),
    ("jane.doe@googlemail.com", "janedoe@gmail.com"),
    ("Sam+flex@outlook.com", "sam@outlook.com"),
    ("first.last+tag@example.org", "first.last+tag@example.org"),
])
def test_normalize_email(given, key):
    assert services.normalize_email(given) == key


def test_invalid_email_is_refused():
    with pytest.raises(Invalid):
        services.clean_email("not an email")


def test_same_mailbox_is_one_person(db):
    a = services.find_or_create_person("Jane.Doe@gmail.com", given_name="Jane")
    b = services.find_or_create_person("janedoe+x@gmail.com", family_name="Doe")
    db.session.commit()
    assert a.id == b.id and (b.given_name, b.family_name) == ("Jane", "Doe")


def test_concurrent_creation_yields_one_person(app, db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL")

    def create(_):
        with app.app_context():
            person = services.find_or_create_person("race@example.org")
            db.session.commit()
            return person.id

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(create, range(16)))
    assert len(ids) == 1
    assert db.session.scalar(select(func.count()).select_from(Person)) == 1


def test_a_later_submission_fills_blanks_but_never_rewrites_a_name(db):
    services.find_or_create_person("owner@example.org", given_name="Real", family_name="")
    again = services.find_or_create_person("owner@example.org", given_name="Impostor", family_name="Doe")
    db.session.commit()
    assert (again.given_name, again.family_name) == ("Real", "Doe")
