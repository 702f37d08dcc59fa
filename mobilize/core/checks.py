"""The small kit every service checks its fields with: collect what is wrong, then refuse once, naming each field."""

from mobilize.core.errors import Invalid
from mobilize.core.text import clean_text


class FieldErrors(dict):
    """{field: what is wrong}; the first problem found for a field is the one shown."""

    def add(self, field: str, message: str) -> None:
        self.setdefault(field, message)

    def absorb(self, error: Invalid) -> None:
        """Add what a shared check refused (its ``fields``), as for any other problem found."""
        for field, message in error.fields.items():
            self.add(field, message)

    def text(self, value, field: str, limit: int, *, label: str = "", required: str = "",
             multiline: bool = False) -> str:
        """``value`` as stored (see core.text.clean_text; one line unless ``multiline``), checked for length and,
        with ``required`` (the message), for presence."""
        text = clean_text(value)
        if not multiline:
            text = " ".join(text.split())
        if required and not text:
            self.add(field, required)
        elif len(text) > limit:
            self.add(field, f"{label} can be at most {limit} characters." if label else f"At most {limit} characters.")
        return text

    def raise_if_any(self, message: str = "Some fields need attention.") -> None:
        if self:
            raise Invalid(message, dict(self))
