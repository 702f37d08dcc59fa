from sqlalchemy import func, select

from mobilize.accounts.models import Organization, User
from mobilize.extensions import db


def test_demo_seed_is_idempotent(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    counts = {m: db.session.scalar(select(func.count()).select_from(m)) for m in (User, Organization)}
    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0, second.output
    assert counts[User] == 3
    assert {m: db.session.scalar(select(func.count()).select_from(m)) for m in (User, Organization)} == counts


def test_cli_creates_organizer_and_prints_working_token(app, client):
    runner = app.test_cli_runner()
    created = runner.invoke(args=["organizers", "create", "cli@example.org", "--org", "CLI Org",
                                  "--password", "cli password 123"])
    assert created.exit_code == 0, created.output
    token = runner.invoke(args=["organizers", "token", "cli@example.org"]).output.strip()
    assert client.get("/api/v1/people", headers={"OSDI-API-Token": token}).status_code == 200
    unknown = runner.invoke(args=["organizers", "token", "nobody@example.org"])
    assert unknown.exit_code != 0 and "No organizer" in unknown.output


def test_the_first_start_mails_no_one(app):
    """Seeding, then every sweep the beat runs at once, leaves the outbox empty."""
    from mobilize.core.models import OutboundMail
    from mobilize.petitions import counting, news
    from mobilize.reminders import services as reminders

    assert app.test_cli_runner().invoke(args=["demo", "seed"]).exit_code == 0
    counting.fold_counts()
    for sweep in (news.send_update_mails, reminders.send_due_reminders, reminders.send_due_notices,
                  reminders.send_followups, news.send_milestone_mails):
        sweep()
    assert db.session.scalars(select(OutboundMail.to)).all() == []
