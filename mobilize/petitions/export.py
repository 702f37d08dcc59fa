"""Signatures as CSV, streamed: rows come from a server-side cursor in batches, so memory stays flat at any size."""

import csv
import io
from collections.abc import Iterator

from sqlalchemy import select

from mobilize.core.text import csv_cell
from mobilize.extensions import db
from mobilize.people.models import Person
from mobilize.petitions.models import Invalidation, Signature
from mobilize.petitions.services import managed_petition

BATCH = 2000
COLUMNS = (
    "signature_id", "status", "given_name", "family_name", "email", "postal_code", "locality", "country",
    "comment", "comment_hidden", "public", "opted_in", "source", "ip_address", "signed_at", "confirmed_at",
    "confirmed_via", "invalidated_at", "invalidation_reason",
)
def _iso(value) -> str:
    return value.isoformat() if value else ""


def _row(r) -> tuple:
    status = "invalidated" if r.invalidated_at else ("confirmed" if r.confirmed_at else "pending")
    return (
        r.uuid, status, csv_cell(r.given_name), csv_cell(r.family_name), csv_cell(r.email), csv_cell(r.postal_code),
        csv_cell(r.locality), r.country, csv_cell(r.comment), "yes" if r.comment_hidden_at else "",
        "yes" if r.public else "", "yes" if r.opt_in_wording else "", r.source, r.ip_address or "",
        _iso(r.created_at), _iso(r.confirmed_at), r.confirmed_via or "", _iso(r.invalidated_at), csv_cell(r.reason),
    )


def signatures_csv(user_id: int, petition_id: int) -> Iterator[str]:
    """Check access now, then return the CSV's chunks (a header, then one chunk per batch of rows)."""
    petition = managed_petition(user_id, petition_id)
    query = (
        select(
            Signature.uuid, Signature.given_name, Signature.family_name, Person.email, Signature.postal_code,
            Signature.locality, Signature.country, Signature.comment, Signature.comment_hidden_at, Signature.public,
            Signature.opt_in_wording, Signature.source, Signature.ip_address, Signature.created_at,
            Signature.confirmed_at, Signature.confirmed_via, Signature.invalidated_at, Invalidation.reason,
        )
        .join(Person, Person.id == Signature.person_id)
        .outerjoin(Invalidation, Invalidation.id == Signature.invalidation_id)
        .where(Signature.petition_id == petition.id)
        .order_by(Signature.id)
        .execution_options(yield_per=BATCH)
    )

    def chunks() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(COLUMNS)
        yield buffer.getvalue()
        for batch in db.session.execute(query).partitions():
            buffer.seek(0)
            buffer.truncate()
            writer.writerows(_row(r) for r in batch)
            yield buffer.getvalue()

    return chunks()
