import click
from flask.cli import AppGroup

from mobilize.demo.seed import SEEDERS

cli = AppGroup("demo", help="Demo data.")


@cli.command("seed")
def seed() -> None:
    """Load demo data for a work-flexibility movement; running it again changes nothing."""
    for seeder in SEEDERS:
        click.echo(seeder())
