"""Petition factories: built through the services, as an organizer would."""

import pytest

from mobilize.extensions import db
from mobilize.petitions import services, signing
from mobilize.petitions.models import Signature


class PetitionFactories:
    def __init__(self, make):
        self.make = make

    def petition(self, org=None, user=None, *, status: str = "open", goal: int = 100, title: str = "Flexible hours now",
                 **fields):
        """An open petition (by default) with one target; returns it."""
        if org is None:
            user, org = self.make.organizer()
        fields.setdefault("summary", "Let every worker ask for flexible hours and get a written answer.")
        petition = services.create_petition(user.id, org.id, title=title, goal=goal, **fields)
        petition.organizer = user
        services.add_target(user.id, petition.id, name="Jane Doe", title="CEO", organization="Acme Co",
                            email="jane@acme.example")
        if status != "draft":
            services.update_petition(user.id, petition.id, status=status)
        return petition

    def sign(self, petition, email: str = "sam@example.org", **fields):
        fields.setdefault("given_name", "Sam")
        fields.setdefault("family_name", "Signer")
        signature_id, _ = signing.sign(petition.id, signing.Signer(email=email, **fields), ip_address="203.0.113.9")
        return db.session.get(Signature, signature_id)

    def confirmed(self, petition, email: str = "sam@example.org", **fields):
        signature = self.sign(petition, email, **fields)
        return signing.confirm(signing.confirmation_token(signature.uuid))


@pytest.fixture
def petitions(make):
    return PetitionFactories(make)
