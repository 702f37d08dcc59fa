"""Small text helpers shared by features."""

import re
import unicodedata


def slugify(value: str, max_length: int = 60) -> str:
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    value = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
    return value[:max_length].strip("-") or "item"


def counted(number: int, singular: str, plural: str | None = None) -> str:
    """``1 seat``, ``12,400 seats``: a count with its noun in the right number (the ``counted`` template filter)."""
    return f"{number:,} {singular if number == 1 else plural or singular + 's'}"
