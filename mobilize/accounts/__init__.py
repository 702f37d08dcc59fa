"""Organizer accounts, organizations and memberships, and how an organizer logs in."""

from mobilize.accounts import login  # noqa: F401 - registers Flask-Login's user loader
