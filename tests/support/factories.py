"""Factories with sensible defaults; each goes through the service layer."""

import itertools

from mobilize.accounts import services as accounts

_counter = itertools.count(1)
PASSWORD = "correct horse battery"


class Factories:
    def organizer(self, email: str | None = None, org: str | None = "Flex Org", name: str = "Olive Organizer"):
        """A user and (unless org is None) the organization they own."""
        n = next(_counter)
        user = accounts.sign_up(email or f"organizer{n}@example.org", name, PASSWORD, org and f"{org} {n}")
        orgs = accounts.organizations_for(user.id)
        return user, (orgs[0] if orgs else None)

    def token(self, user) -> str:
        return accounts.create_api_token(user.id, "test")[1]
