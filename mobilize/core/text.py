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


# Control characters, but tab and newline: PostgreSQL refuses NUL, and the rest only hide text.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(value, limit: int | None = None) -> str:
    """Text as stored: line ends as ``\\n``, no control characters, trimmed (and cut to ``limit``)."""
    text = CONTROL_CHARS.sub("", str(value or "").replace("\r\n", "\n").replace("\r", "\n")).strip()
    return text[:limit] if limit else text


# Spreadsheets run a cell that starts like a formula; a leading quote keeps it text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A CSV cell that spreadsheets show as text and never run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def like_containing(search: str) -> str:
    """A LIKE pattern matching ``search`` anywhere, its own ``%``, ``_`` and ``\\`` taken literally
    (use with ``escape="\\\\"``)."""
    escaped = search.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
    return f"%{escaped}%"
