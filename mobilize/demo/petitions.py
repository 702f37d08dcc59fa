"""Demo petitions with targets, confirmed signers and an update; skipped when already there.

Seeding mails no one: the signers are confirmed by the organization, and the update counts as
already mailed, so the first start does not write to 32 made-up supporters.
"""

from sqlalchemy import select

from mobilize.accounts.models import Membership
from mobilize.core.models import utcnow
from mobilize.core.transaction import unit_of_work
from mobilize.extensions import db
from mobilize.petitions import counting, services, signing
from mobilize.petitions.models import Petition, UpdateMailing

PETITIONS = [
    {
        "org": "1-million", "slug": "right-to-request-flexible-work",
        "title": "Give every worker the right to request flexible work",
        "summary": "Congress: pass a law giving every employee the right to ask for remote work, flexible hours "
                   "or job sharing, and to get a written answer within 30 days.",
        "body": "Millions of us do jobs that could be done from home, or on a schedule that fits school runs, "
                "caregiving and commutes. Yet most of us cannot even **ask** without risking our careers.\n\n"
                "Countries that adopted a *right to request* saw more people stay in work, especially parents "
                "and carers, with no loss of productivity.\n\n"
                "We ask for:\n\n- a legal right to request flexible work from day one\n"
                "- a written answer within 30 days, with reasons for any refusal\n- protection from retaliation",
        "targets": [("Maria Cantwell", "Chair, Senate Commerce Committee", "U.S. Senate"),
                    ("Bobby Scott", "Ranking Member, Education and Workforce Committee", "U.S. House")],
        "goal": 100, "signers": 64,
        "update": ("We met the committee staff",
                   "Our delegation of working parents met committee staff on Tuesday. "
                   "They asked for more stories: keep signing and commenting!"),
    },
    {
        "org": "parents-at-work", "slug": "school-hours-meetings",
        "title": "Keep meetings inside school hours",
        "summary": "Employers in our city: commit to scheduling recurring meetings between 9:30 and 2:30, "
                   "so working parents can do the school run.",
        "body": "A simple change that costs nothing and keeps parents in the room where decisions are made.",
        "targets": [("Chamber of Commerce", "Board of Directors", "Springfield Chamber of Commerce")],
        "goal": 250, "signers": 23,
    },
]
GIVEN = ["Maya", "Dev", "Ana", "Sam", "Lena", "Omar", "Grace", "Luis", "Aiko", "Noah", "Zara", "Ben", "Ivy", "Theo",
         "Rosa", "Kai"]
FAMILY = ["Okafor", "Patel", "Souza", "Nguyen", "Fischer", "Haddad", "Kim", "Garcia", "Tanaka", "Brown", "Ali"]
COMMENTS = ["I lost two hours a day to a commute for work I could do anywhere.",
            "Flexible hours let me keep my job while caring for my dad.", "", "",
            "Job sharing kept my team together after our second child.", ""]
ZIPS = ["62701", "10001", "94110", "60614", "73301", "98101", "02139", "30303"]


def seed_petitions() -> str:
    from mobilize.demo.seed import demo_organization  # seed.py lists this seeder

    created = 0
    for spec in PETITIONS:
        if db.session.scalar(select(Petition.id).where(Petition.slug == spec["slug"])):
            continue
        org = demo_organization(spec["org"])
        if org is None:
            continue
        owner = db.session.scalar(select(Membership.user_id).where(Membership.organization_id == org.id))
        petition = services.create_petition(owner, org.id, title=spec["title"], slug=spec["slug"],
                                            summary=spec["summary"], body=spec["body"], goal=spec["goal"])
        for name, title, organization in spec["targets"]:
            services.add_target(owner, petition.id, name=name, title=title, organization=organization)
        services.update_petition(owner, petition.id, status="open")
        for n in range(spec["signers"]):
            signer = signing.Signer(
                email=f"demo.signer{n}@{spec['slug']}.example.org", given_name=GIVEN[n % len(GIVEN)],
                family_name=FAMILY[n % len(FAMILY)], postal_code=ZIPS[n % len(ZIPS)], country="US",
                comment=COMMENTS[n % len(COMMENTS)], public=n % 3 != 2, opt_in=n % 2 == 0,
            )
            signing.sign(petition.id, signer, source="api", confirmed_by=owner)
        if "update" in spec:
            update = services.post_update(owner, petition.id, *spec["update"])
            with unit_of_work():
                db.session.add(UpdateMailing(update_id=update.id, finished_at=utcnow()))
        created += 1
    counting.fold_counts()
    counting.raise_goals()
    return f"petitions: {created} created"
