import threading
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, text, update

from mobilize.core.models import utcnow
from mobilize.extensions import db as _db
from mobilize.people.models import Person
from mobilize.petitions import counting, services, signing, tasks
from mobilize.petitions.models import CountDelta, Milestone, Petition, PetitionCount, Signature


def shown(db, petition) -> int:
    db.session.expire_all()
    return db.session.get(Petition, petition.id).signature_count


def counted(db, petition) -> int:
    return db.session.scalar(
        select(func.count()).where(Signature.petition_id == petition.id, Signature.counted)
    )


def test_confirmations_reach_the_shown_count_only_when_the_worker_folds_them(db, petitions):
    petition = petitions.petition()
    for n in range(3):
        petitions.confirmed(petition, f"signer{n}@example.org")
    petitions.sign(petition, "pending@example.org")
    assert shown(db, petition) == 0
    assert tasks.count_signatures() == 1
    assert shown(db, petition) == 3 == counted(db, petition)
    assert db.session.scalar(select(func.count()).select_from(CountDelta)) == 0
    assert tasks.count_signatures() == 0 and shown(db, petition) == 3


def test_signing_never_updates_the_petition_or_count_row(db, petitions):
    petition = petitions.petition()
    before = db.session.execute(select(Petition.modified_at).where(Petition.id == petition.id)).scalar()
    petitions.confirmed(petition, "a@example.org")
    petitions.sign(petition, "b@example.org")
    db.session.expire_all()
    assert db.session.execute(select(Petition.modified_at).where(Petition.id == petition.id)).scalar() == before
    assert db.session.get(PetitionCount, petition.id).signatures == 0


def test_bulk_invalidation_by_ip_domain_and_window_takes_signatures_off_the_count(db, petitions):
    petition = petitions.petition()
    user = petition.organizer
    for n in range(4):
        petitions.confirmed(petition, f"real{n}@example.org")
    for n in range(3):
        petitions.confirmed(petition, f"bot{n}@spam.example")
    petitions.sign(petition, "bot-pending@spam.example")
    tasks.count_signatures()
    assert shown(db, petition) == 7

    invalidation = services.invalidate_signatures(user.id, petition.id, "Throwaway domain",
                                                  email_domain="@SPAM.example")
    assert invalidation.signatures == 4 and invalidation.criteria == {"email_domain": "spam.example"}
    tasks.count_signatures()
    assert shown(db, petition) == 4 == counted(db, petition)

    db.session.execute(update(Signature).where(Signature.given_name == "Sam").values(ip_address="198.51.100.4"))
    db.session.commit()
    assert services.invalidate_signatures(user.id, petition.id, "Already gone", ip="198.51.100.4").signatures == 4
    tasks.count_signatures()
    assert shown(db, petition) == 0 == counted(db, petition)


def test_invalidating_a_time_window_and_a_single_signature(db, petitions):
    petition = petitions.petition()
    user = petition.organizer
    early = petitions.confirmed(petition, "early@example.org")
    late = petitions.confirmed(petition, "late@example.org")
    one = petitions.confirmed(petition, "one@example.org")
    hour_ago = utcnow() - timedelta(hours=1)
    db.session.execute(update(Signature).where(Signature.id == early.id).values(created_at=hour_ago))
    db.session.commit()
    window = services.invalidate_signatures(user.id, petition.id, "Burst", signed_after=hour_ago - timedelta(minutes=1),
                                            signed_before=hour_ago + timedelta(minutes=1))
    assert window.signatures == 1
    services.invalidate_signatures(user.id, petition.id, "Fake name", signature_uuid=one.uuid)
    tasks.count_signatures()
    assert shown(db, petition) == 1
    assert db.session.get(Signature, late.id).counted
    assert db.session.get(Signature, one.id).invalidation.reason == "Fake name"
    # Invalidating again changes nothing: already-invalidated rows are not counted twice.
    assert services.invalidate_signatures(user.id, petition.id, "Again", signature_uuid=one.uuid).signatures == 0
    tasks.count_signatures()
    assert shown(db, petition) == 1


def test_invalidation_needs_a_reason_and_a_criterion(petitions):
    from mobilize.core.errors import Invalid

    petition = petitions.petition()
    with pytest.raises(Invalid) as raised:
        services.invalidate_signatures(petition.organizer.id, petition.id, "", ip="not-an-ip")
    assert set(raised.value.fields) == {"reason", "ip"}
    with pytest.raises(Invalid):
        services.invalidate_signatures(petition.organizer.id, petition.id, "Spam")


def test_reconciliation_corrects_drift_from_count_star(db, petitions):
    petition = petitions.petition()
    for n in range(5):
        petitions.confirmed(petition, f"s{n}@example.org")
    tasks.count_signatures()
    # A person deleted with their signature: the count drifts.
    db.session.execute(delete(Person).where(Person.email == "s0@example.org"))
    db.session.execute(update(PetitionCount).values(signatures=PetitionCount.signatures + 40))
    db.session.commit()
    petitions.confirmed(petition, "late@example.org")  # pending delta during reconciliation
    assert tasks.reconcile_signature_counts() == 1
    assert shown(db, petition) == 4
    tasks.count_signatures()
    assert shown(db, petition) == 5 == counted(db, petition)
    assert tasks.reconcile_signature_counts() == 0


def test_goal_rises_along_the_ladder_and_milestones_are_recorded_once(db, petitions):
    assert [counting.next_goal(n) for n in (0, 99, 100, 250, 999, 1000, 2600, 9999, 1_000_000)] == [
        100, 100, 250, 500, 1000, 2500, 5000, 10000, 2_500_000]
    petition = petitions.petition(goal=100)
    db.session.add(CountDelta(petition_id=petition.id, delta=612))
    db.session.commit()
    tasks.count_signatures()
    db.session.expire_all()
    assert db.session.get(Petition, petition.id).goal == 1000
    milestones = db.session.scalars(select(Milestone.signatures).order_by(Milestone.signatures)).all()
    assert milestones == [100, 250, 500]
    assert counting.raise_goals() == []
    assert db.session.scalar(select(func.count()).where(Milestone.notified_at.is_(None))) == 3


def test_a_custom_goal_is_a_milestone_too(db, petitions):
    petition = petitions.petition(goal=300)
    db.session.add(CountDelta(petition_id=petition.id, delta=300))
    db.session.commit()
    tasks.count_signatures()
    db.session.expire_all()
    assert db.session.get(Petition, petition.id).goal == 500
    assert db.session.scalars(select(Milestone.signatures)).all() == [300]


def test_petitions_close_when_their_closing_date_passes(db, petitions):
    petition = petitions.petition(closes_at=utcnow() + timedelta(days=1))
    other = petitions.petition(title="No date")
    db.session.execute(update(Petition).where(Petition.id == petition.id).values(closes_at=utcnow()))
    db.session.commit()
    assert tasks.close_due_petitions() == 1
    db.session.expire_all()
    assert db.session.get(Petition, petition.id).status == "closed"
    assert db.session.get(Petition, other.id).status == "open"


@pytest.fixture
def postgresql(db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("advisory locks and concurrent writers: PostgreSQL only")


def test_a_fold_skips_while_a_reconciliation_holds_the_lock(app, db, petitions, postgresql):
    petition = petitions.petition()
    petitions.confirmed(petition, "a@example.org")
    with db.engine.connect() as other:
        other.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": counting.COUNT_LOCK})
        assert counting.fold_counts() == []  # returns at once, the delta stays
        assert counting.count_lag(petition.id) == 1
        other.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": counting.RECONCILE_LOCK})
        assert counting.reconcile_counts() == 0  # another reconciliation runs: skip
        other.rollback()
    assert counting.fold_counts() == [petition.id]
    assert shown(db, petition) == 1


def test_no_confirmation_is_lost_when_folds_run_during_a_surge(app, db, petitions, postgresql):
    petition = petitions.petition()
    petition_id = petition.id
    tokens = [signing.confirmation_token(petitions.sign(petition, f"surge{n}@example.org").uuid) for n in range(80)]
    errors = []

    def confirm(chunk):
        with app.app_context():
            try:
                for token in chunk:
                    signing.confirm(token)
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                _db.session.remove()

    def fold(stop):
        with app.app_context():
            while not stop.is_set():
                counting.fold_counts()
            _db.session.remove()

    stop = threading.Event()
    folder = threading.Thread(target=fold, args=(stop,))
    folder.start()
    workers = [threading.Thread(target=confirm, args=(tokens[n::4],)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    stop.set()
    folder.join()
    counting.fold_counts()
    assert errors == []
    _db.session.expire_all()
    assert _db.session.get(Petition, petition_id).signature_count == 80 == counted(db, petition)
