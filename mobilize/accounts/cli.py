import click
from flask.cli import AppGroup

from mobilize.accounts import admins, services
from mobilize.core.errors import DomainError

cli = AppGroup("organizers", help="Manage organizer accounts.")


@cli.command("create")
@click.argument("email")
@click.option("--org", "organization", required=True, help="Organization to create, with this organizer as owner.")
@click.option("--name", default=None, help="Display name (defaults to the email's local part).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create(email: str, organization: str, name: str | None, password: str) -> None:
    """Create an organizer and their organization."""
    try:
        user = services.sign_up(email, name or email.split("@")[0], password, organization)
    except DomainError as error:
        raise click.ClickException(" ".join([error.message, *error.fields.values()])) from None
    click.echo(f"created {user.email}, owner of {organization}")


@cli.command("site-admin")
@click.argument("email")
@click.option("--revoke", is_flag=True, help="Stop them being a site administrator.")
def site_admin(email: str, revoke: bool) -> None:
    """Make an organizer a site administrator (or, with --revoke, no longer one)."""
    try:
        user = admins.set_site_admin(email, not revoke)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"{user.email} is {'now' if user.is_site_admin else 'no longer'} a site administrator")


@cli.command("token")
@click.argument("email")
@click.option("--name", default="CLI token")
def token(email: str, name: str) -> None:
    """Print a new API token for the organizer."""
    try:
        user = services.user_by_email(email)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    _, raw = services.create_api_token(user.id, name)
    click.echo(raw)
