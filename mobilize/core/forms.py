"""What every feature's forms share: select options, and domain errors turned into form messages."""

from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from mobilize.core.errors import DomainError


def options(*pairs) -> list[SelectChoice]:
    """Select choices from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def apply_errors(form: FlaskForm, error: DomainError) -> None:
    """Put a service's field errors on the form's fields, the rest on the form."""
    unplaced = []
    for name, message in error.fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, message]
        else:
            unplaced.append(message)
    form.form_errors = [*form.form_errors, error.message, *unplaced]
