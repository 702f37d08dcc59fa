"""Demo data for the run command and screenshots. Each seeder is idempotent."""

from sqlalchemy import select

from mobilize.accounts import admins
from mobilize.accounts import services as accounts
from mobilize.accounts.models import Organization, User
from mobilize.extensions import db

DEMO_PASSWORD = "organize-for-flex"
ORGANIZERS = [
    ("maya@flexmovement.org", "Maya Okafor", "1 Million for Work Flexibility",
     "A movement of professionals, companies and organizations for remote work, flexible schedules and job sharing.",
     "https://example.org/flex"),
    ("dev@parentsatwork.org", "Dev Patel", "Parents at Work Coalition",
     "Working parents organizing for schedules that fit school runs and sick days.", "https://example.org/parents"),
    ("ana@remotefirst.org", "Ana Souza", "Remote First Alliance",
     "Companies pledging to hire anywhere and meet online by default.", "https://example.org/remote"),
]


def demo_organization(slug_prefix: str) -> Organization:
    return db.session.scalar(select(Organization).where(Organization.slug.startswith(slug_prefix)))


def seed_organizers() -> str:
    created = 0
    for email, name, org_name, description, website in ORGANIZERS:
        if db.session.scalar(select(User).where(User.email == email)):
            continue
        user = accounts.sign_up(email, name, DEMO_PASSWORD, org_name)
        org = accounts.organizations_for(user.id)[0]
        accounts.update_organization(user.id, org.id, description=description, website=website)
        created += 1
    admins.set_site_admin(ORGANIZERS[0][0])  # reads the mail outbox of the embedded setup
    return (f"organizers: {created} created (password for all: {DEMO_PASSWORD}; "
            f"{ORGANIZERS[0][0]} is the site administrator)")


# Features add their seeders here, in the order they depend on each other.
from mobilize.demo.events import seed_events  # noqa: E402
from mobilize.demo.petitions import seed_petitions  # noqa: E402
from mobilize.demo.rsvps import seed_rsvps  # noqa: E402

SEEDERS = [seed_organizers, seed_events, seed_rsvps, seed_petitions]
