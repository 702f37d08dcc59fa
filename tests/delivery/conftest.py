"""Delivery fixtures: a real webhook receiver, plans made through the service, signatures in bulk.

No worker runs unless a test starts one, so each batch is cut and sent by the
process the test chooses: this one, or a worker it starts with its own settings.
"""

import itertools
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update

from mobilize.core.models import utcnow
from mobilize.delivery import batching, sending, services
from mobilize.delivery.models import DeliveryBatch, DeliveryCursor, DeliveryPlan
from mobilize.extensions import db
from mobilize.people.models import Person
from mobilize.petitions.models import Signature
from tests.delivery.receiver import Receiver
from tests.petitions.conftest import PetitionFactories
from tests.support.infra import wait_until

_people = itertools.count(1)


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def batch_size(app, monkeypatch):
    def set_size(size: int) -> None:
        monkeypatch.setitem(app.config, "DELIVERY_BATCH_SIZE", size)

    return set_size


class DeliveryFactories(PetitionFactories):
    def plan(self, petition, **fields) -> DeliveryPlan:
        fields.setdefault("timezone", "America/New_York")
        return services.save_plan(petition.organizer.id, petition.id, services.PlanInput(**fields))

    def webhook_plan(self, petition, receiver: Receiver, path: str = "/hook", **fields) -> DeliveryPlan:
        """A plan posting to the receiver, which is told the plan's secret."""
        plan = self.plan(petition, webhook_url=receiver.url(path), **fields)
        receiver.secrets[path] = plan.webhook_secret
        return plan

    def signatures(self, petition, count: int, status: str = "counted", comment: str = "",
                   status_of=None) -> list[int]:
        """``count`` signatures written in bulk as rows (ids ascending); each "counted", "pending" or "invalidated"."""
        now = utcnow()
        tag = uuid.uuid4().hex[:8]
        numbers = [next(_people) for _ in range(count)]
        db.session.execute(insert(Person.__table__), [
            {"uuid": uuid.uuid4(), "email": f"Signer{n}.{tag}@Example.net",
             "email_normalized": f"signer{n}.{tag}@example.net", "given_name": f"Signer{n}", "family_name": "Doe",
             "phone": "", "postal_code": "", "locality": "", "country": "", "created_at": now, "modified_at": now}
            for n in numbers])
        person_ids = dict(db.session.execute(select(Person.email_normalized, Person.id)
                                             .where(Person.email_normalized.endswith(f".{tag}@example.net"))).all())
        rows = []
        for index, n in enumerate(numbers):
            state = status_of(index) if status_of else status
            rows.append({
                "uuid": uuid.uuid4(), "petition_id": petition.id,
                "person_id": person_ids[f"signer{n}.{tag}@example.net"], "given_name": f"Signer{n}",
                "family_name": "Doe", "postal_code": "62701", "locality": "Springfield", "country": "US",
                "comment": comment, "public": False, "source": "web", "confirmation_sent_at": now,
                "confirmations_sent": 1, "confirmed_at": None if state == "pending" else now,
                "confirmed_via": None if state == "pending" else "email",
                "invalidated_at": now if state == "invalidated" else None, "created_at": now, "modified_at": now,
            })
        db.session.execute(insert(Signature.__table__), rows)
        db.session.commit()
        return list(db.session.scalars(select(Signature.id).where(Signature.person_id.in_(
            select(Person.id).where(Person.email_normalized.endswith(f".{tag}@example.net")))).order_by(Signature.id)))

    @staticmethod
    def uuids(signature_ids) -> set[str]:
        return {f"mobilize:{u}" for u in db.session.scalars(select(Signature.uuid).where(
            Signature.id.in_(list(signature_ids))))}

    @staticmethod
    def sweep(now=None) -> dict:
        """The beat sweep, then the cutting it fans out, run here."""
        result = batching.sweep(now)
        for cursor_id in db.session.scalars(select(DeliveryCursor.id).where(DeliveryCursor.due_at.is_not(None))):
            while batching.cut_batches(cursor_id)[1]:
                pass
        return result

    @staticmethod
    def batches(petition) -> list[DeliveryBatch]:
        db.session.expire_all()
        return list(db.session.scalars(select(DeliveryBatch).where(DeliveryBatch.petition_id == petition.id)
                                       .order_by(DeliveryBatch.id)))

    @staticmethod
    def deliver_all() -> None:
        """Send every batch that is due, here, as a worker would."""
        for batch_id in db.session.scalars(select(DeliveryBatch.id).where(DeliveryBatch.status == "pending")
                                           .order_by(DeliveryBatch.id)).all():
            sending.deliver_batch(batch_id)

    @staticmethod
    def make_due(batch: DeliveryBatch) -> None:
        """Its next attempt's time has come: the clock moves, not the rules."""
        db.session.execute(update(DeliveryBatch).where(DeliveryBatch.id == batch.id)
                           .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()

    @staticmethod
    def wait_for_delivered(petition, count: int, timeout: float = 60) -> list[DeliveryBatch]:
        def delivered():
            batches = DeliveryFactories.batches(petition)
            done = [b for b in batches if b.status == "delivered"]
            return batches if len(done) >= count and len(done) == len(batches) else None

        return wait_until(delivered, timeout=timeout, interval=0.3, what=f"{count} delivered batches")


@pytest.fixture
def delivery(make):
    return DeliveryFactories(make)
